"""No duplicates: the ledger bracket around every write, and the look-before-resend rule.

Every create goes through :func:`create_once`: the ledger records the intent before the POST; an
ambiguous outcome (``AmbiguousWriteError``: timeout, reset, 5xx after sending) is never re-sent
blindly. The object is looked up first (each strategy brings its lookup: master data by number,
documents by the reference field carrying the external key, payments by the invoice's remaining
amount, vouchers by content). Found → adopted; provably absent → sent again (bounded); undecidable →
rejected as ``outcome_unknown`` with the ledger entry left ``pending``, so any later run looks it up
before writing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eaccounting_api.errors import AmbiguousWriteError, ConflictError, EAccountingError
from target_eaccounting.api import api_error
from target_eaccounting.ledger import PENDING, Entry
from target_eaccounting.outcomes import SKIPPED
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.write_context import WriteContext


def changed_after_write(spec: StreamSpec, key: str, entry: Entry) -> RecordError:
    return RecordError(
        "changed_after_write",
        f"external key {key!r} was already written as {entry.object_id} with different content, and "
        f"{spec.name} cannot be updated through the API; give the record a new external key or fix "
        "the object in eAccounting",
    )


def already_written(ctx: WriteContext, spec: StreamSpec, key: str, digest: str) -> bool:
    """For objects the API cannot update: True (and skipped) if this exact record was written before;
    a changed record under a written key is refused."""
    entry = ctx.ledger.get(spec.name, key)
    if entry is None or not entry.is_done:
        return False
    if entry.payload_hash != digest:
        raise changed_after_write(spec, key, entry)
    ctx.outcomes.record(SKIPPED, spec.name, key, entry.object_id, "already written")
    return True


def look(spec: StreamSpec, key: str, lookup: Callable[[], str | None], *, cause: str) -> str | None:
    """Run a lookup after an unclear outcome; a lookup that cannot decide rejects the record."""
    try:
        return lookup()
    except Undecidable as exc:
        raise RecordError(
            "outcome_unknown",
            f"{cause}; the lookup cannot decide whether {spec.name} {key!r} was created ({exc}). "
            "Not re-sent: check eAccounting, then replay (the ledger keeps it pending)",
        ) from exc
    except EAccountingError as exc:
        raise RecordError(
            "outcome_unknown",
            f"{cause}; looking the object up failed too ({exc}). Not re-sent: replay later "
            "(the ledger keeps it pending, so the replay looks it up first)",
            api=api_error(exc, "").api,
        ) from exc


def create_once(
    ctx: WriteContext,
    spec: StreamSpec,
    key: str,
    *,
    digest: str,
    extra: dict[str, Any],
    entry: Entry | None,
    post: Callable[[], str],
    lookup: Callable[[], str | None],
) -> str:
    """POST with the ledger bracket and the look-before-resend rule. Returns the object Id.

    The caller records ``done`` in the ledger (with what it knows about the object) afterwards."""
    if entry is not None and entry.status == PENDING:
        found = look(spec, key, lookup, cause="an earlier write of this record has no known outcome")
        if found:
            ctx.logger.info("%s %s: found from an earlier run as %s", spec.name, key, found)
            return found
    previous = entry if entry is not None and entry.is_done else None
    ctx.ledger.begin(spec.name, key, digest, extra)
    attempts = ctx.settings.max_write_attempts
    last: AmbiguousWriteError | None = None
    for attempt in range(1, attempts + 1):
        try:
            return post()
        except AmbiguousWriteError as exc:
            last = exc
            ctx.logger.warning(
                "%s %s: outcome of POST unknown (attempt %d: %s); looking it up before any re-send",
                spec.name,
                key,
                attempt,
                exc.summary,
            )
            found = look(spec, key, lookup, cause=f"POST {spec.path} had an ambiguous outcome")
            if found:
                return found
        except ConflictError:
            ctx.ledger.forget(spec.name, key, previous)
            raise
        except EAccountingError as exc:
            ctx.ledger.forget(spec.name, key, previous)
            raise api_error(exc, f"POST {spec.path} failed") from exc
    raise RecordError(
        "outcome_unknown",
        f"POST {spec.path} stayed ambiguous after {attempts} attempts (each lookup found nothing). "
        "Not re-sent again: replay later (the ledger keeps it pending)",
        api=api_error(last, "").api if last else None,
    )


def put_once(
    ctx: WriteContext,
    spec: StreamSpec,
    key: str,
    *,
    digest: str,
    extra: dict[str, Any],
    entry: Entry | None,
    path: str,
    body: dict[str, Any],
) -> None:
    """A PUT (idempotent: the shared client retries it); a lasting unclear outcome stays pending."""
    previous = entry if entry is not None and entry.is_done else None
    ctx.ledger.begin(spec.name, key, digest, extra)
    try:
        ctx.api.put(path, body)
    except AmbiguousWriteError as exc:
        raise RecordError(
            "outcome_unknown", f"PUT {path}: {exc}; safe to replay (PUT is idempotent)"
        ) from exc
    except EAccountingError as exc:
        ctx.ledger.forget(spec.name, key, previous)
        raise api_error(exc, f"PUT {path} failed") from exc
