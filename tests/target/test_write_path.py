"""The write path without HTTP: stream declarations name their strategy, the record intake rejects
per-record failures but lets fatal ones stop the run, ``create_once`` never re-sends blindly, and the
target's modules import each other in one direction only."""

from __future__ import annotations

import ast
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import target_eaccounting
from eaccounting_api.errors import AmbiguousWriteError, BadRequestError, ReauthorizationRequired
from target_eaccounting.api import Api
from target_eaccounting.exactly_once import create_once
from target_eaccounting.fiscal import FiscalYears
from target_eaccounting.ledger import DONE, PENDING, Ledger
from target_eaccounting.outcomes import Outcomes
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.record_intake import RecordIntake
from target_eaccounting.references import References
from target_eaccounting.rejects import RejectFile
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.stream_specs import STREAMS
from target_eaccounting.write_context import WriteContext, WriteSettings

PACKAGE = Path(target_eaccounting.__file__).parent


class NoHttp:
    def request(self, method: str, path: str, **_: Any) -> Any:
        raise AssertionError(f"unexpected request {method} {path}")


@pytest.fixture
def ctx(tmp_path: Path) -> WriteContext:
    api = Api(NoHttp())
    ledger = Ledger(tmp_path / "ledger.sqlite")
    outcomes = Outcomes(RejectFile(tmp_path / "rejects.jsonl"), logging.getLogger("test"), client_id="c")
    return WriteContext(
        api=api,
        ledger=ledger,
        refs=References(api, ledger, invoice_streams={}),
        fiscal_years=FiscalYears(list),
        outcomes=outcomes,
        settings=WriteSettings(max_write_attempts=3),
        logger=logging.getLogger("test"),
    )


@dataclass
class Raising:
    """A strategy that raises the given exception for every record."""

    error: BaseException
    kind: str = "test"
    seen: list[str] = field(default_factory=list)

    def write(self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str) -> None:
        self.seen.append(key)
        raise self.error


def spec_with(strategy: Any) -> StreamSpec:
    return StreamSpec("things", strategy, "/things", "CustomerApi", number_field="CustomerNumber")


def test_every_stream_names_one_strategy_per_kind() -> None:
    kinds = {name: spec.kind for name, spec in STREAMS.items()}
    assert kinds == {
        "customers": "master data",
        "suppliers": "master data",
        "articles": "master data",
        "customer_invoice_drafts": "document",
        "customer_invoices": "document",
        "customer_invoice_payments": "payment",
        "supplier_invoice_payments": "payment",
        "vouchers": "voucher",
    }
    # one instance per kind: the payment strategy's per-invoice locks cover both payment streams
    strategies = {spec.kind: spec.strategy for spec in STREAMS.values()}
    assert all(spec.strategy is strategies[spec.kind] for spec in STREAMS.values())


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RecordError("invalid_record", "bad"), "invalid_record"),
        (BadRequestError("no", status=400, error_id="E-1"), "api_error"),
    ],
)
def test_intake_rejects_record_failures(ctx: WriteContext, error: Exception, reason: str) -> None:
    strategy = Raising(error)
    RecordIntake(ctx).write(spec_with(strategy), {"CustomerNumber": "7"}, None)
    assert strategy.seen == ["7"]
    assert ctx.outcomes.counts["rejected"] == 1
    ctx.outcomes.flush()
    assert f'"reason": "{reason}"' in ctx.outcomes.rejects.path.read_text()


def test_intake_lets_fatal_errors_stop_the_run(ctx: WriteContext) -> None:
    strategy = Raising(ReauthorizationRequired("grant revoked"))
    with pytest.raises(ReauthorizationRequired):
        RecordIntake(ctx).write(spec_with(strategy), {"CustomerNumber": "7"}, None)
    assert ctx.outcomes.counts["rejected"] == 0


def ambiguous() -> AmbiguousWriteError:
    return AmbiguousWriteError("timed out", method="POST", path="/things")


def posts(*answers: str | Exception) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def post() -> str:
        calls.append(1)
        answer = answers[len(calls) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return post, calls


def test_create_once_adopts_what_the_lookup_finds(ctx: WriteContext) -> None:
    spec = spec_with(Raising(RuntimeError()))
    post, calls = posts(ambiguous())
    object_id = create_once(
        ctx, spec, "k", digest="h", extra={}, entry=None, post=post, lookup=lambda: "found-1"
    )
    assert (object_id, len(calls)) == ("found-1", 1)


def test_create_once_resends_only_when_provably_absent_and_bounded(ctx: WriteContext) -> None:
    spec = spec_with(Raising(RuntimeError()))
    post, calls = posts(ambiguous(), "new-1")
    assert create_once(ctx, spec, "k", digest="h", extra={}, entry=None, post=post, lookup=lambda: None) == (
        "new-1"
    )
    assert len(calls) == 2

    post, calls = posts(ambiguous(), ambiguous(), ambiguous(), "never")
    with pytest.raises(RecordError) as info:
        create_once(ctx, spec, "k2", digest="h", extra={}, entry=None, post=post, lookup=lambda: None)
    assert info.value.reason == "outcome_unknown"
    assert len(calls) == 3  # max_write_attempts
    entry = ctx.ledger.get("things", "k2")
    assert entry is not None
    assert entry.status == PENDING


def test_create_once_rejects_undecidable_and_looks_before_writing_a_pending_key(ctx: WriteContext) -> None:
    spec = spec_with(Raising(RuntimeError()))

    def undecidable() -> str | None:
        raise Undecidable("two candidates")

    post, calls = posts(ambiguous(), "never")
    with pytest.raises(RecordError) as info:
        create_once(ctx, spec, "k", digest="h", extra={}, entry=None, post=post, lookup=undecidable)
    assert info.value.reason == "outcome_unknown"
    assert len(calls) == 1
    pending = ctx.ledger.get("things", "k")
    assert pending is not None
    assert pending.status == PENDING

    # a later run finds the pending entry: the lookup comes first, nothing is posted
    post, calls = posts("never")
    assert (
        create_once(ctx, spec, "k", digest="h", extra={}, entry=pending, post=post, lookup=lambda: "old-1")
        == "old-1"
    )
    assert calls == []


def test_create_once_forgets_the_intent_after_a_definite_failure(ctx: WriteContext) -> None:
    spec = spec_with(Raising(RuntimeError()))
    post, _ = posts(BadRequestError("bad", status=400))
    with pytest.raises(RecordError) as info:
        create_once(ctx, spec, "k", digest="h", extra={}, entry=None, post=post, lookup=lambda: None)
    assert info.value.reason == "api_error"
    assert ctx.ledger.get("things", "k") is None

    ctx.ledger.done("things", "k2", "id-1", "old")
    previous = ctx.ledger.get("things", "k2")
    post, _ = posts(BadRequestError("bad", status=400))
    with pytest.raises(RecordError):
        create_once(ctx, spec, "k2", digest="new", extra={}, entry=previous, post=post, lookup=lambda: None)
    restored = ctx.ledger.get("things", "k2")
    assert restored is not None
    assert (restored.status, restored.object_id, restored.payload_hash) == (DONE, "id-1", "old")


# --- module structure ---------------------------------------------------------------------------


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """The package modules ``path`` imports at module level (TYPE_CHECKING included), and any
    import statement found inside a function."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    nested: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n.split(".")[1] for n in names if n.startswith("target_eaccounting."))
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            nested += [
                f"{path.name}:{n.lineno}" for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)
            ]
    return found & {p.stem for p in PACKAGE.glob("*.py")}, nested


def test_target_modules_have_no_import_cycles_and_no_function_level_imports() -> None:
    graph: dict[str, set[str]] = {}
    nested: list[str] = []
    for path in PACKAGE.glob("*.py"):
        graph[path.stem], inner = _imports(path)
        nested += inner
    assert nested == []

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()) - seen:
            seen.add(nxt)
            if nxt == goal or reaches(nxt, goal, seen):
                return True
        return False

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert cycles == []
    # the declaration table sits above the strategies it names
    for strategy in ("master_data", "documents", "payments", "vouchers", "exactly_once"):
        assert "stream_specs" not in graph[strategy], strategy
    assert "target" not in graph["sinks"]


def test_no_positional_argument_noqa() -> None:
    offenders = [p.name for p in PACKAGE.glob("*.py") if "PLR0917" in p.read_text()]
    assert offenders == []
