"""Without HTTP: the input reader numbers lines and turns bad ones into rejects; enums, UUIDs and dates
are checked before any request; the files that hold records are created private."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_eaccounting import mapping
from target_eaccounting.api import Api
from target_eaccounting.fiscal import FiscalYears
from target_eaccounting.ledger import Ledger
from target_eaccounting.message_reader import BadMessage, LineNumberingReader
from target_eaccounting.outcomes import Outcomes
from target_eaccounting.record_errors import RecordError
from target_eaccounting.record_intake import RecordIntake
from target_eaccounting.references import References
from target_eaccounting.rejects import RejectFile, reject_line, replay_messages
from target_eaccounting.stream_specs import STREAMS
from target_eaccounting.write_context import WriteContext, WriteSettings

UUID = "11111111-1111-4111-8111-111111111111"

# --- the reader ----------------------------------------------------------------------------------


def _read(
    text: str, handlers: dict[str, Callable[[dict], None]] | None = None
) -> tuple[list[BadMessage], list[tuple[int | None, dict]]]:
    bad: list[BadMessage] = []
    seen: list[tuple[int | None, dict]] = []
    reader = LineNumberingReader(bad.append)

    def handle(kind: str) -> Callable[[dict], None]:
        def callback(message: dict) -> None:
            seen.append((reader.line_number, message))
            if handlers and kind in handlers:
                handlers[kind](message)

        return callback

    callbacks = {kind: handle(kind) for kind in ("SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH")}
    counts = reader.process_lines(io.StringIO(text), callbacks)
    assert sum(counts.values()) == len(seen) - sum(1 for b in bad if b.record is not None)
    assert reader.line_number is None
    return bad, seen


def test_reader_numbers_lines_and_rejects_what_is_no_usable_message(caplog: pytest.LogCaptureFixture) -> None:
    lines = [
        '{"type": "SCHEMA", "stream": "s", "schema": {"properties": {}}, "key_properties": ["id"]}',
        "",  # an empty line is skipped, but counted
        "not json at all",
        "[1, 2]",
        '{"type": "RECORD", "stream": "s", "record": {"id": 1}}',
        '{"stream": "s", "record": {"id": 2}}',
        '{"type": "GOSSIP", "stream": "s"}',
        '{"type": "RECORD", "record": {"id": 3}}',
        '{"type": "RECORD", "stream": "s", "record": "id=4"}',
        '{"type": "STATE", "value": {"bookmark": 1}}',
    ]
    with caplog.at_level(logging.DEBUG):
        bad, seen = _read("\n".join(lines) + "\n")
    assert [(number, m["type"]) for number, m in seen] == [(1, "SCHEMA"), (5, "RECORD"), (10, "STATE")]
    assert [(b.line_number, b.reason) for b in bad] == [(n, "invalid_message") for n in (3, 4, 6, 7, 8, 9)]
    assert [b.raw_line for b in bad] == [lines[n - 1] for n in (3, 4, 6, 7, 8, 9)]
    assert all(b.record is None for b in bad)
    assert "not JSON" in bad[0].message
    assert "JSON list" in bad[1].message
    assert "without a record object" in bad[5].message
    assert not [r for r in caplog.records if r.exc_info]  # the SDK's reader logs a traceback here


def test_reader_rejects_records_the_sdk_refuses_and_goes_on() -> None:
    def refuse(message: dict) -> None:
        if message["record"]["id"] == 1:
            raise RecordsWithoutSchemaException("no schema")
        if message["record"]["id"] == 2:
            raise MissingKeyPropertiesError("no key")

    lines = [
        '{"type": "RECORD", "stream": "early", "record": {"id": 1}}',
        '{"type": "SCHEMA", "stream": "s", "schema": {"properties": {}}, "key_properties": ["id", "no"]}',
        '{"type": "RECORD", "stream": "s", "record": {"id": 2}}',
        '{"type": "RECORD", "stream": "s", "record": {"id": 3}}',
    ]
    bad, seen = _read("\n".join(lines), {"RECORD": refuse})
    assert [(b.line_number, b.reason, b.stream, b.record, b.field) for b in bad] == [
        (1, "record_before_schema", "early", {"id": 1}, None),
        (3, "missing_key_property", "s", {"id": 2}, "no"),
    ]
    assert "lacks the key property no" in bad[1].message
    assert seen[-1] == (4, {"type": "RECORD", "stream": "s", "record": {"id": 3}})


def test_reader_lets_a_bad_schema_stop_the_run() -> None:
    def broken(_: dict) -> None:
        raise InvalidInputLine("schema without properties")

    with pytest.raises(InvalidInputLine):
        _read('{"type": "SCHEMA", "stream": "s", "schema": {}}\n', {"SCHEMA": broken})


# --- values checked before any request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "record", "field", "words"),
    [
        (
            "CustomerInvoiceDraftApi",
            {"RotReducedInvoicingType": 7},
            "RotReducedInvoicingType",
            "not one of 0, 1, 2",
        ),
        ("CustomerApi", {"TermsOfPaymentId": "123"}, "TermsOfPaymentId", "'123', not a UUID"),
        ("CustomerApi", {"TermsOfPaymentId": "{" + UUID + "}"}, "TermsOfPaymentId", "not a UUID"),
        ("CustomerInvoiceApi", {"Rows": [{}, {"ArticleId": UUID[:-1]}]}, "Rows[1].ArticleId", "not a UUID"),
        ("CustomerInvoiceApi", {"InvoiceDate": "2025-02-30"}, "InvoiceDate", "not a date"),
        ("VoucherApi", {"VoucherDate": "05/31/2025"}, "VoucherDate", "not a date"),
        ("VoucherApi", {"Rows": [{"DeliveryDate": "soon"}]}, "Rows[0].DeliveryDate", "not a date"),
    ],
)
def test_values_the_api_would_refuse_are_rejected_naming_the_field(
    schema: str, record: dict, field: str, words: str
) -> None:
    with pytest.raises(RecordError) as info:
        mapping.check_values(schema, record)
    assert info.value.field == field
    assert words in info.value.message
    assert info.value.reason == "invalid_record"


def test_good_values_pass_and_other_problems_are_left_to_the_payload_check() -> None:
    mapping.check_values(
        "CustomerInvoiceDraftApi",
        {
            "RotReducedInvoicingType": 2,
            "CustomerId": UUID.upper(),
            "InvoiceDate": "2025-05-31",  # a date alone in a date-time field
            "DueDate": "2025-06-30T00:00:00.0000000Z",
            "DeliveryDate": None,
            "Rows": [{"ArticleId": None, "ProjectId": UUID}],
            "Unknown": "not-a-uuid",  # dropped before sending, not checked
        },
    )
    mapping.check_values("CustomerInvoiceApi", {"CustomerId": None, "Rows": "x"})  # type errors come later


def test_a_payment_invoice_id_must_be_a_uuid() -> None:
    def no_lookup(kind: str, value: str, field: str) -> str:
        raise AssertionError("no lookup expected")

    assert mapping.invoice_target({"InvoiceId": UUID}, no_lookup) == UUID
    with pytest.raises(RecordError) as info:
        mapping.invoice_target({"InvoiceId": "INV-1"}, no_lookup)
    assert info.value.field == "InvoiceId"


class NoHttp:
    def request(self, method: str, path: str, **_: Any) -> Any:
        raise AssertionError(f"unexpected request {method} {path}")


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[WriteContext]:
    api = Api(NoHttp())
    ledger = Ledger(tmp_path / "ledger.sqlite")
    outcomes = Outcomes(RejectFile(tmp_path / "rejects.jsonl"), logging.getLogger("test"), client_id="c")
    yield WriteContext(
        api=api,
        ledger=ledger,
        refs=References(api, ledger, invoice_streams={}),
        fiscal_years=FiscalYears(lambda: api.list("/fiscalyears")),
        outcomes=outcomes,
        settings=WriteSettings(),
        logger=logging.getLogger("test"),
    )
    outcomes.close()
    ledger.close()


@pytest.mark.parametrize(
    ("stream", "record", "field"),
    [
        ("customer_invoice_drafts", {"RotReducedInvoicingType": 9}, "RotReducedInvoicingType"),
        ("customer_invoices", {"Rows": [{"ArticleId": "A-1", "Quantity": 1}]}, "Rows[0].ArticleId"),
        ("customer_invoices", {"InvoiceDate": "2025-13-01"}, "InvoiceDate"),
        ("customer_invoice_payments", {"InvoiceId": "INV-1", "PaymentAmount": 1}, "InvoiceId"),
        ("customer_invoice_payments", {"InvoiceExternalKey": "k", "PaymentDate": "x"}, "PaymentDate"),
    ],
)
def test_intake_rejects_bad_values_before_any_request(
    ctx: WriteContext, stream: str, record: dict, field: str
) -> None:
    # CustomerNumber / ArticleNumber / InvoiceExternalKey would each need a lookup (NoHttp fails on it)
    full = {"CustomerNumber": "C-1", "InvoiceDate": "2025-05-05", **record}
    RecordIntake(ctx).write(STREAMS[stream], full, None, line_number=42)
    ctx.outcomes.flush()
    (reject,) = [json.loads(line) for line in ctx.outcomes.rejects.path.read_text().splitlines()]
    assert (reject["line_number"], reject["field"], reject["stream"]) == (42, field, stream)
    assert reject["external_key"]


# --- private files -------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that takes nothing away: the modes must come from the target itself."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_ledger_reject_file_and_plan_are_private(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    ledger = Ledger(shared / "a" / "b" / "ledger.sqlite")
    ledger.begin("s", "k", "h", {})
    ledger_files = list((shared / "a" / "b").glob("ledger.sqlite*"))
    assert len(ledger_files) >= 2  # the database and its -wal file, while open
    assert {p.name: _mode(p) for p in ledger_files} == dict.fromkeys((p.name for p in ledger_files), 0o600)
    ledger.close()
    rejects = RejectFile(shared / "r" / "rejects.jsonl")
    outcomes = Outcomes(
        rejects, logging.getLogger("test"), client_id=None, plan_path=shared / "p" / "plan.jsonl"
    )
    outcomes.reject("s", "k", {"Secret": "business"}, RecordError("invalid_record", "bad"))
    rejects.write(reject_line("s", "k", {"A": 1}, RecordError("invalid_record", "bad"), None))
    outcomes.close()
    for path in ("a/b/ledger.sqlite", "r/rejects.jsonl", "p/plan.jsonl"):
        assert _mode(shared / path) == 0o600, path
    for directory in ("a", "a/b", "r", "p"):
        assert _mode(shared / directory) == 0o700, directory
    assert _mode(shared) == 0o755  # an existing directory keeps its mode


def test_replay_skips_lines_that_hold_no_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "rejects.jsonl"
    rejects = RejectFile(path)
    error = RecordError("invalid_message", "not JSON")
    rejects.write(reject_line(None, None, None, error, "c", line_number=3, raw_line="{oops"))
    rejects.write(reject_line("customers", None, {"Name": "x"}, error, "c", line_number=7))
    rejects.close()
    first = json.loads(path.read_text().splitlines()[0])
    assert (first["line_number"], first["raw_line"], first["record"]) == (3, "{oops", None)
    with caplog.at_level(logging.WARNING):
        messages = [json.loads(m) for m in replay_messages(path)]
    assert [m["type"] for m in messages] == ["SCHEMA", "RECORD"]
    assert messages[1]["record"] == {"Name": "x"}
    assert "skipping input line 3" in caplog.text
