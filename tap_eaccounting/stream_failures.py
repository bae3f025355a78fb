"""What a stream's failure means for the run, and the one line that tells a human about it.

A failure is either the stream's own (a 5xx or 400 beyond retries, a missing scope, an answer that is
not the API's JSON, a shortfall under ``strict_completeness``): the run goes on with the next stream;
or it is the run's (no host at ``api_url``, an ``api_url`` that is not the eAccounting API, the identity
server refusing the client credentials, a malformed URL): every other stream would fail the same way,
often only after the whole retry budget, so the run stops. ``FatalError`` (a dead grant, an unusable
token store) is neither: the caller stops at once and the CLI reports it.

Each message is one line: what went wrong, at which host or URL, and what to do. Exception texts of
``eaccounting_api`` never carry a token or secret (``errors.ReportedError``), so they are safe to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from eaccounting_api import oauth, paging
from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.connection import DEFAULT_API_URL, DEFAULT_IDENTITY_URL
from eaccounting_api.errors import (
    BadRequestError,
    EAccountingError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    TruncatedBodyError,
)
from eaccounting_api.retry import request_was_sent
from tap_eaccounting.reader import IncompleteReadError

# A list every company has: asked once when a stream's 404 or undecodable answer may mean that
# ``api_url`` is not the eAccounting API at all (``api_mismatch``).
PROBE_PATH = "/fiscalyears"
# requests' errors for a URL it cannot even send to: a configuration error, never the stream's.
URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
)
EXIT_UNREACHABLE = 4  # a host could not be reached (the target uses 4 too): run again later
RERUN = "the next run reads the stream again from its last bookmark"


@dataclass(frozen=True)
class Failure:
    message: str  # one line
    run_level: bool = False  # every stream would fail the same way: stop the run
    maybe_wrong_api: bool = False  # a 404 or an undecodable answer: ``api_mismatch`` can tell
    exit_code: int = 1  # for a run-level failure: 4 when a host cannot be reached (as the target's 4)


def one_line(text: str) -> str:
    return " ".join(text.split())


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def root_reason(exc: BaseException) -> str:
    """The operating system's words for a connection failure ("Connection refused", "Name or service
    not known"), found down the requests -> urllib3 -> socket chain; else the exception's class name."""
    reason = type(exc).__name__
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            reason = str(current.strerror)
        following = getattr(current, "reason", None)  # urllib3's MaxRetryError
        if not isinstance(following, BaseException):
            following = (
                current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
            )
        current = following or current.__cause__ or current.__context__
    return reason


def classify(exc: BaseException, stream: str, config: Mapping[str, Any]) -> Failure | None:
    """The failure ``exc`` is, for a stream's sync; ``None`` for an unexpected error (a bug: the caller
    lets it propagate with its traceback)."""
    api_url = str(config.get("api_url") or DEFAULT_API_URL)
    if isinstance(exc, EAccountingError) and exc.path == oauth.TOKEN_PATH:
        return _identity_failure(exc, str(config.get("identity_url") or DEFAULT_IDENTITY_URL))
    if isinstance(exc, TransportError):
        return _transport_failure(exc, stream, api_url)
    if isinstance(exc, URL_ERRORS):
        return Failure(f"api_url {api_url!r} or identity_url is not a usable URL: {exc}", run_level=True)
    if isinstance(exc, EAccountingError):
        return Failure(
            f"{stream}: {exc} at {host_of(api_url)}: {_advice(exc)}", maybe_wrong_api=_maybe_not_the_api(exc)
        )
    if isinstance(exc, IncompleteReadError | ValueError | requests.RequestException):
        return _read_failure(exc, stream, api_url)
    return None


def _read_failure(exc: Exception, stream: str, api_url: str) -> Failure:
    if isinstance(exc, IncompleteReadError):
        return Failure(
            f"{stream}: {exc} at {host_of(api_url)}: run again (rows changed or went missing during the "
            "read), or turn strict_completeness off to get a warning instead"
        )
    # Decoding (``paging.decode_page``: not a paginated envelope, a cut-off body), a bad setting value
    # (``account_balance_dates``), or a body that broke off mid-transfer.
    return Failure(
        f"{stream}: {one_line(str(exc)) or type(exc).__name__} (from {host_of(api_url)}): the answer was "
        f"not what the eAccounting API sends; {RERUN}, report it if it persists",
        maybe_wrong_api=isinstance(exc, ValueError),
    )


def _transport_failure(exc: TransportError, stream: str, api_url: str) -> Failure:
    cause = exc.__cause__
    if cause is not None and not request_was_sent(cause):  # refused, unknown host, connect timeout
        return Failure(
            f"cannot reach the eAccounting API at {host_of(api_url)} ({root_reason(cause)}, {exc}): "
            "check api_url, the network, proxy and firewall",
            run_level=True,
            exit_code=EXIT_UNREACHABLE,
        )
    return Failure(
        f"{stream}: requests to {host_of(api_url)} kept timing out or breaking off ({exc}): raise "
        f"request_timeout or lower page_size; {RERUN}"
    )


def _maybe_not_the_api(exc: EAccountingError) -> bool:
    """A 404, or (after the retries) a 200 that is no eAccounting JSON: maybe not the API at all."""
    return isinstance(exc, NotFoundError | TruncatedBodyError)


def _identity_failure(exc: EAccountingError, identity_url: str) -> Failure:
    host = host_of(identity_url)
    if isinstance(exc, TransportError):
        cause = exc.__cause__
        reason = root_reason(cause) if cause is not None else type(exc).__name__
        return Failure(
            f"cannot reach the identity server at {host} ({reason}, {exc}): check identity_url and the "
            "network",
            run_level=True,
            exit_code=EXIT_UNREACHABLE,
        )
    # Refused client credentials say "check client_id and client_secret" themselves (oauth.token_error).
    return Failure(f"identity server {host}: {exc}", run_level=True)


ADVICE: tuple[tuple[type[EAccountingError], str], ...] = (
    (ServerError, f"the API kept failing after retries; run again later ({RERUN})"),
    (
        RateLimitError,
        f"still over the rate limit after retries; lower max_concurrency or run later ({RERUN})",
    ),
    (
        TruncatedBodyError,
        f"answers kept arriving cut short after retries (a proxy?); run again later ({RERUN})",
    ),
    (NotFoundError, "this endpoint does not answer for this company: deselect the stream"),
    (
        BadRequestError,
        "the API refused the request: deselect the stream and report the ErrorId to Visma or to us",
    ),
)


def _advice(exc: EAccountingError) -> str:
    if isinstance(exc, PermissionDeniedError):
        if exc.missing_scopes:
            return "deselect the stream or re-authorize with the scope named"
        return "the company or user may lack this module or permission: deselect the stream or ask the tenant"
    for cls, advice in ADVICE:
        if isinstance(exc, cls):
            return advice
    return f"report the ErrorId to Visma if it persists ({RERUN})"


def api_mismatch(client: EAccountingClient) -> str | None:
    """Why ``client.api_url`` does not answer like the eAccounting API v2 (one request to a list every
    company has), or ``None`` when it does. Any typed answer but a 404 (a 403 for a missing scope, say)
    is the API's; a transport error proves nothing either way."""
    url = f"{client.api_url}{PROBE_PATH}"
    try:
        response = client.request("GET", PROBE_PATH, params={paging.PAGE_SIZE_PARAM: "1"})
        paging.decode_page(response.content, f"GET {url}")
    except NotFoundError:
        return f"GET {url} answers 404"
    except ValueError:
        return f"GET {url} does not answer with an eAccounting list"
    except EAccountingError:
        return None
    return None


def api_mismatch_failure(api_url: str, mismatch: str) -> Failure:
    return Failure(
        f"api_url {api_url} does not answer like the eAccounting API v2 ({mismatch}): set api_url to the "
        f"API base with /v2 (default {DEFAULT_API_URL})",
        run_level=True,
    )
