"""Fan-out streams (one request per customer, per voucher) sync only when ``fan_out_streams`` lists them,
even when the catalog selects every stream (Meltano's ``*.*``); a running one logs its progress at
least every ``PROGRESS_INTERVAL`` seconds (``tap_eaccounting.fan_out``)."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from contextvars import copy_context
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from eaccounting_api.ratelimit import RateLimiter
from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting import fan_out
from tap_eaccounting.run_summary import EXIT_OK, SKIPPED
from tap_eaccounting.stream_scheduler import CURRENT_STREAM, StreamCounter
from tap_eaccounting.streams import BY_NAME, FAN_OUT_STREAMS, SINGLE_OBJECT_STREAMS, STREAMS
from tap_eaccounting.tap import TapEAccounting

from .conftest import COMPANY, catalog_for, tap_config
from .test_tap_stream_failures import messages, run_selected

RECIPIENTS, OVER_UNDER = "customer_auto_invoice_recipients", "voucher_over_under_payments"
EVERY_STREAM = [s.name for s in STREAMS] + [s.name for s in SINGLE_OBJECT_STREAMS]
LINE = re.compile(
    r"(?P<name>\w+): (?P<done>[\d,]+)/(?P<total>[\d,]+) parents, (?P<records>[\d,]+) records, .*"
    r"rate-limit waits (?P<waits>\d+) \((?P<waited>[\d.]+) s.*"
)


class FakeClock:
    """Seconds that pass only when told to (thread-safe): ``advance`` is also a limiter's ``sleep``."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 1000.0
        self.step = step  # added at each reading
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.step
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def fan_out_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "selected but not synced" in r.getMessage()]


def progress_lines(caplog: pytest.LogCaptureFixture, stream: str) -> list[re.Match[str]]:
    return [m for r in caplog.records if (m := LINE.fullmatch(r.getMessage().removesuffix("; done")))
            and m["name"] == stream]  # fmt: skip


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_stream_table_marks_exactly_the_per_customer_and_per_voucher_streams() -> None:
    assert FAN_OUT_STREAMS == (RECIPIENTS, OVER_UNDER)
    # Per-parent streams over small reference sets stay ordinary streams.
    for name in ("accounts", "vouchers", "bank_transactions_matched", "sales_price_list_prices_by_list"):
        assert BY_NAME[name].parent, name
        assert not BY_NAME[name].fan_out, name


def test_discovery_lists_fan_out_streams_not_selected_by_default(config: dict[str, Any]) -> None:
    catalog = TapEAccounting(config=config).catalog_dict
    by_default = {
        entry["tap_stream_id"]: md["metadata"]["selected-by-default"]
        for entry in catalog["streams"]
        for md in entry["metadata"]
        if md["breadcrumb"] == []
    }
    assert set(by_default) == set(EVERY_STREAM)
    off = {name for name, default in by_default.items() if not default}
    assert off == {*FAN_OUT_STREAMS, "company_settings"}
    # The setting changes what syncs, not the catalog.
    enabled = TapEAccounting(config={**config, "fan_out_streams": list(FAN_OUT_STREAMS)}).catalog_dict
    assert enabled == catalog


def test_everything_selected_syncs_only_the_enabled_fan_out_stream(
    fresh_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_sandbox.admin("DELETE", "stats")
    config = tap_config(
        fresh_sandbox, tmp_path, account_balance_dates=["today"], fan_out_streams=[RECIPIENTS]
    )
    with caplog.at_level(logging.INFO):
        run, summary = run_selected(config, EVERY_STREAM)  # what `select: ['*.*']` hands the tap
    assert summary.exit_code == EXIT_OK
    counts: dict[str, int] = fresh_sandbox.admin("GET", "counts", params={"company": COMPANY})
    # The enabled one: every record (each auto-invoice recipient of each customer).
    recipients = run.records[RECIPIENTS]
    assert len(recipients) == len({(r["CustomerId"], r["ElectronicAddress"]) for r in recipients})
    assert len(recipients) == counts[BY_NAME[RECIPIENTS].path] > 0
    # One page per customer: no "page 1/1" line per parent at INFO (the progress lines say it instead).
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in info if m.startswith(f"{RECIPIENTS} page ")]
    # The other: no SCHEMA, no record, no request, one line saying how to turn it on, skipped.
    assert not [m for m in run.messages if m.get("stream") == OVER_UNDER]
    served = fresh_sandbox.admin("GET", "stats")["endpoints"]
    assert not [endpoint for endpoint in served if "/voucherwithoverunderpayment/" in endpoint]
    (line,) = fan_out_messages(caplog)
    assert line.startswith(f"{OVER_UNDER}: selected but not synced")
    assert "one request per all_vouchers record" in line
    assert "fan_out_streams" in line
    outcome = summary.outcomes[OVER_UNDER]
    assert (outcome.status, outcome.status_text) == (SKIPPED, "skipped: not in fan_out_streams")
    assert summary.outcomes[RECIPIENTS].status == "ok"
    assert set(summary.outcomes) == set(EVERY_STREAM)
    assert list(summary.outcomes) == list(run.tap.streams)  # the catalog's order, the skipped one included
    assert "1 skipped" in summary.table().splitlines()[0]


def test_fan_out_streams_not_enabled_read_nothing_not_even_their_parents(
    fresh_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_sandbox.admin("DELETE", "stats")
    config = tap_config(fresh_sandbox, tmp_path)
    with caplog.at_level(logging.INFO):
        run, summary = run_selected(config, list(FAN_OUT_STREAMS))
    assert summary.exit_code == EXIT_OK
    assert not [m for m in run.messages if m["type"] in ("SCHEMA", "RECORD")]
    served = fresh_sandbox.admin("GET", "stats")["endpoints"]
    assert not [endpoint for endpoint in served if " /v2/" in endpoint]  # no /customers, no /vouchers
    assert sorted(fan_out_messages(caplog)) == sorted(fan_out.not_enabled_message(n) for n in FAN_OUT_STREAMS)
    assert {o.status for o in summary.outcomes.values()} == {SKIPPED}
    # Not selected: not synced, and not reported either, whatever the setting says.
    caplog.clear()
    enabled = {**config, "fan_out_streams": list(FAN_OUT_STREAMS)}
    with caplog.at_level(logging.INFO):
        run, summary = run_selected(enabled, ["units"])
    assert set(summary.outcomes) == {"units"}
    assert not fan_out_messages(caplog)
    assert not run.records[RECIPIENTS]


def test_the_sdk_sync_path_skips_them_too(config: dict[str, Any]) -> None:
    tap = TapEAccounting(config=config, catalog=catalog_for(config, [RECIPIENTS]))
    assert not tap.streams[RECIPIENTS].selected
    enabled = {**config, "fan_out_streams": [RECIPIENTS]}
    tap = TapEAccounting(config=enabled, catalog=catalog_for(enabled, [RECIPIENTS]))
    assert tap.streams[RECIPIENTS].selected
    assert not tap.streams[OVER_UNDER].selected  # enabled, but not selected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (["vouchers"], "fan_out_streams: 'vouchers' is not a fan-out stream (it syncs whenever selected)"),
        ([RECIPIENTS, "company_settings"], "fan_out_streams: 'company_settings' is not a fan-out stream"),
        (["customer_auto_invoice"], "fan_out_streams: 'customer_auto_invoice' is no stream of this tap"),
    ],
)
def test_a_bad_setting_is_a_one_line_config_error(config: dict[str, Any], value: Any, says: str) -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapEAccounting(config={**config, "fan_out_streams": value})
    (error,) = info.value.errors
    assert error.startswith(says)
    assert error.endswith(f"; the fan-out streams are {RECIPIENTS}, {OVER_UNDER}")
    assert "\n" not in error


def test_a_setting_of_the_wrong_type_is_refused_by_the_schema(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapEAccounting(config={**config, "fan_out_streams": OVER_UNDER})
    (error,) = info.value.errors
    assert "config['fan_out_streams']" in error
    # Discovery does not validate (the SDK's rule): the problem is a warning, and nothing is enabled.
    assert fan_out.setting_problem({"fan_out_streams": OVER_UNDER}) == (
        f"fan_out_streams: expected a list of stream names ({RECIPIENTS}, {OVER_UNDER}), got {OVER_UNDER!r}"
    )
    assert fan_out.enabled({"fan_out_streams": OVER_UNDER}) == frozenset()


def test_the_cli_says_what_is_wrong_with_the_setting_in_one_line(tmp_path: Path) -> None:
    config = {"client_id": "c", "client_secret": "s", "refresh_token": "r", "fan_out_streams": ["accounts"]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "tap_eaccounting.tap", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 2, done.stderr  # the problem, then the SDK's "Config validation failed"
    assert errors[0].endswith(
        "fan_out_streams: 'accounts' is not a fan-out stream (it syncs whenever selected); "
        f"the fan-out streams are {RECIPIENTS}, {OVER_UNDER}"
    )
    assert "Traceback" not in done.stderr


def count(stats: StreamCounter, **counts: int) -> None:
    """What the client counts (``stats[key] += n``) in the stream's thread (``CURRENT_STREAM`` set)."""

    def book() -> None:
        CURRENT_STREAM.set(OVER_UNDER)
        for key, n in counts.items():
            stats[key.removeprefix("n")] += n

    copy_context().run(book)


def test_the_progress_line() -> None:
    clock, stats = FakeClock(), StreamCounter()
    count(stats, limiter_waits=3, limiter_wait_ms=1500)  # before the stream started: not its waits
    progress = fan_out.Progress(OVER_UNDER, logging.getLogger("test.fan_out"), stats, clock)
    progress.start(1000, "all_vouchers")
    for _ in range(420):
        progress.parent_done(3)
    progress.records = 1200
    count(stats, limiter_waits=10, limiter_wait_ms=7000, n429=2, n429_wait_ms=2500)
    assert progress.line(clock.now + 38) == (
        f"{OVER_UNDER}: 420/1,000 parents, 1,200 records, 38 s, rate-limit waits 12 (9.5 s; 2 after a 429), "
        "ETA 52 s"
    )
    progress.done = 0
    assert progress.line(clock.now + 5).endswith("ETA unknown")
    progress.done = 1000
    assert "ETA" not in progress.line(clock.now + 700)
    assert ", 11 min 40 s, " in progress.line(clock.now + 700)
    assert fan_out.duration(5000) == "1 h 23 min"


def test_progress_is_logged_when_due_and_not_before(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = fan_out.Progress(RECIPIENTS, logging.getLogger("test.fan_out"), Counter(), clock)
    progress.start(5, "customers")
    with caplog.at_level(logging.INFO):
        progress.parent_done(2)
        clock.advance(fan_out.PROGRESS_INTERVAL - 0.5)
        progress.parent_done(0)
        assert not progress_lines(caplog, RECIPIENTS)
        clock.advance(0.5)
        progress.tick()  # what the waiting stream does when no parent finished for a while
        clock.advance(fan_out.PROGRESS_INTERVAL - 0.25)
        progress.parent_done(1)
        clock.advance(0.25)
        progress.parent_done(4)
    assert [(m["done"], m["records"]) for m in progress_lines(caplog, RECIPIENTS)] == [("2", "2"), ("4", "7")]


def test_a_running_fan_out_stream_logs_its_progress(
    fresh_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    # One parent at a time: the limiter's waits come in the order of the requests.
    config = tap_config(fresh_sandbox, tmp_path, fan_out_streams=[RECIPIENTS], max_concurrency=1)
    tap = TapEAccounting(config=config, catalog=catalog_for(config, [RECIPIENTS]))
    stream = tap.streams[RECIPIENTS]
    # The limiter waits on a fake clock too (20 a window): every wait is counted, none is slept.
    waits, per_window = FakeClock(), 20
    stream.runtime.client.limiter = RateLimiter(per_window, clock=waits, sleep=waits.advance)
    stream.runtime.clock = FakeClock(step=1.5)  # each reading of the progress clock: 1.5 s later
    buffer = io.StringIO()
    with caplog.at_level(logging.INFO), redirect_stdout(buffer):
        summary = tap.sync_selected()
    assert summary.exit_code == EXIT_OK
    records = [m for m in messages(buffer.getvalue()) if m["type"] == "RECORD"]
    counts: dict[str, int] = fresh_sandbox.admin("GET", "counts", params={"company": COMPANY})
    assert len(records) == counts[BY_NAME[RECIPIENTS].path] > 0
    lines = progress_lines(caplog, RECIPIENTS)
    assert len(lines) >= 3, [m.string for m in lines]
    assert {number(m["total"]) for m in lines} == {80}
    done = [number(m["done"]) for m in lines]
    assert done == sorted(done)
    assert done[-1] == 80
    assert [number(m["records"]) for m in lines][-1] == len(records)
    # The last line: what the limiter made the 80 requests (one per customer) wait, counted by the client.
    expected = RateLimiter(per_window, clock=(sim := FakeClock()), sleep=sim.advance)
    waited = [expected.acquire(BY_NAME[RECIPIENTS].path) for _ in range(80)]
    last = lines[-1]
    assert number(last["waits"]) == sum(w > 0 for w in waited)
    assert float(last["waited"]) == round(sum(waited), 1)
    assert number(last["waits"]) >= 3
    finals = [r.getMessage() for r in caplog.records if r.getMessage().endswith("; done")]
    assert finals == [f"{last.string}; done"]
    started = [r.getMessage() for r in caplog.records if "one request each" in r.getMessage()]
    assert started == [f"{RECIPIENTS}: reading 80 parents (customers), one request each"]


def test_a_stream_waiting_for_a_parent_still_logs(caplog: pytest.LogCaptureFixture) -> None:
    """No parent finishes (the rate limit holds it): the waiting stream logs the line when it is due."""
    logger = logging.getLogger("test.fan_out.waiting")
    released = threading.Event()

    class Release(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "0/1 parents" in record.getMessage():
                released.set()  # the parent is read only once the stream has said it waits

    def read_parent(value: str) -> list[dict[str, Any]]:
        assert released.wait(timeout=60), "no progress line while the parent was held"
        return [{"Id": value}]

    handler = Release()
    logger.addHandler(handler)
    progress = fan_out.Progress(OVER_UNDER, logger, Counter(), FakeClock(step=4.0), announce=False)
    progress.start(1, "all_vouchers")
    try:
        with caplog.at_level(logging.INFO), ThreadPoolExecutor(1) as pool:
            records = list(fan_out.read_per_parent(["v1"], read_parent, pool, 1, progress))
    finally:
        logger.removeHandler(handler)
    assert records == [{"Id": "v1"}]
    lines = [m.string for m in progress_lines(caplog, OVER_UNDER)]
    assert lines[0].startswith(f"{OVER_UNDER}: 0/1 parents, 0 records, ")
    assert lines[0].endswith("ETA unknown")
    assert not [r for r in caplog.records if r.getMessage().endswith("; done")]  # announce=False
