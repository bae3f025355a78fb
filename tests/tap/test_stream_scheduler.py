"""The pieces of a side-by-side run, without a server: the scheduler (one stream until one synced, the
limit, stop, errors, signals), the start order, per-stream counting across pools, the state gate
(each stream's own published state) and the thread-safe writer (a STATE after every record written
before it)."""

from __future__ import annotations

import io
import json
import signal
import threading
import time
from collections import Counter
from contextlib import redirect_stdout
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any, cast

import pytest
from singer_sdk import Stream
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from tap_eaccounting.message_writer import FLUSH_BYTES, BufferedMsgSpecWriter
from tap_eaccounting.run_summary import CountingWriter
from tap_eaccounting.state_gate import StateGate
from tap_eaccounting.stream_scheduler import (
    CURRENT_STREAM,
    ContextPool,
    RunStopped,
    StreamCounter,
    StreamScheduler,
    start_order,
)
from tap_eaccounting.tap import TapEAccounting


@dataclass(frozen=True)
class FakeStream:
    name: str


def fakes(*names: str) -> list[Stream]:
    return [cast(Stream, FakeStream(n)) for n in names]


class Tracker:
    """Tasks that take a little while and note how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.names: list[str | None] = []

    def task(self, stream: Stream) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.names.append(CURRENT_STREAM.get())
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return stream.name


def test_one_stream_at_a_time_until_one_synced_then_up_to_the_limit() -> None:
    tracker = Tracker()
    scheduler = StreamScheduler(3, TapEAccounting.logger)
    ended = []
    for stream, result in scheduler.run(fakes("a", "b", "c", "d", "e", "f", "g"), tracker.task):
        assert result == stream.name
        ended.append(result)
        if result == "a":
            assert tracker.peak == 1  # nothing else started while the first ran
            scheduler.open()
    assert sorted(ended) == list("abcdefg")
    assert ended[0] == "a"
    assert tracker.peak == 3
    assert sorted(n or "" for n in tracker.names) == list("abcdefg")  # CURRENT_STREAM set in each task


def test_without_a_synced_stream_the_run_stays_sequential() -> None:
    tracker = Tracker()
    list(StreamScheduler(4, TapEAccounting.logger).run(fakes("a", "b", "c"), tracker.task))
    assert tracker.peak == 1


def test_stop_starts_no_further_stream_and_ends_running_ones_at_their_next_record() -> None:
    scheduler = StreamScheduler(2, TapEAccounting.logger)
    scheduler.open()
    stopped: list[str] = []

    def task(stream: Stream) -> str:
        if stream.name == "fails":
            time.sleep(0.05)
            return "failed"
        try:
            for _ in range(200):  # a long stream, writing records
                scheduler.check()
                time.sleep(0.01)
        except RunStopped:
            stopped.append(stream.name)
            return "stopped"
        return "ok"

    results = {}
    for stream, result in scheduler.run(fakes("long", "fails", "queued"), task):
        results[stream.name] = result
        if result == "failed":
            scheduler.stop("fail_fast")
    assert results == {"fails": "failed", "long": "stopped"}
    assert stopped == ["long"]
    assert scheduler.reason == "fail_fast"
    scheduler.check()  # outside a stream's context it never raises


def test_an_exception_is_raised_once_the_running_streams_ended() -> None:
    scheduler = StreamScheduler(2, TapEAccounting.logger)
    scheduler.open()
    finished: list[str] = []

    def task(stream: Stream) -> str:
        if stream.name == "bad":
            raise KeyError("boom")
        time.sleep(0.1)
        finished.append(stream.name)
        return "ok"

    ended: list[str] = []
    results = scheduler.run(fakes("slow", "bad", "never"), task)
    with pytest.raises(KeyError, match="boom"):
        ended.extend(stream.name for stream, _ in results)
    assert finished == ended == ["slow"]  # "never" was not started
    assert scheduler.stopping


def test_a_signal_stops_the_run() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set from the main thread")
    scheduler = StreamScheduler(2, TapEAccounting.logger)
    before = signal.getsignal(signal.SIGTERM)
    with scheduler.stopping_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
    assert (scheduler.stopping, scheduler.interrupted_by) == (True, "SIGTERM")


def test_start_order_opens_with_a_quick_stream_then_the_long_poles() -> None:
    names = ["account_balances", "accounts", "customers", "customer_auto_invoice_recipients", "vat_codes"]
    ordered = [s.name for s in start_order(fakes(*names))]
    assert ordered == [
        "customers",
        "customer_auto_invoice_recipients",
        "account_balances",
        "accounts",
        "vat_codes",
    ]
    assert [s.name for s in start_order(fakes("accounts", "vouchers"))] == ["accounts", "vouchers"]


def test_counts_are_booked_to_the_stream_whose_task_made_them_in_any_pool() -> None:
    counter = StreamCounter()
    pool = ContextPool(2)

    def request(n: int) -> None:
        counter["requests"] += n  # what EAccountingClient does, in a page-pool thread

    def sync(name: str) -> None:
        CURRENT_STREAM.set(name)
        for future in [pool.submit(request, 1) for _ in range(5)]:
            future.result()
        counter["retries"] += 2

    threads = [threading.Thread(target=copy_context().run, args=(sync, name)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counter["requests"] += 1  # no stream: the run's own request
    pool.shutdown()
    assert counter == Counter(requests=11, retries=4)
    assert counter.of("a") == counter.of("b") == Counter(requests=5, retries=2)


def published(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [m["value"] for m in map(json.loads, buffer.getvalue().splitlines()) if m["type"] == "STATE"]


def test_the_gate_writes_each_streams_last_published_state() -> None:
    state: dict[str, Any] = {
        "bookmarks": {"a": {"replication_key_value": "1"}, "b": {"replication_key_value": "1"}}
    }
    out = io.StringIO()
    gate = StateGate(CountingWriter())

    def publish(stream: str, value: str) -> None:
        CURRENT_STREAM.set(stream)
        state["bookmarks"][stream]["replication_key_value"] = value
        gate.write_state(state)

    with redirect_stdout(out):
        with gate.scheduled(state):
            state["bookmarks"]["b"]["replication_key_value"] = "2"  # b is running: not published yet
            copy_context().run(publish, "a", "2")
            state["bookmarks"]["a"]["replication_key_value"] = "3"  # a goes on
            gate.write_state(state)  # the coordinator: nothing new published, no STATE
            copy_context().run(publish, "b", "4")
        gate.write_state(state)  # after the run: the state as it is
    assert [{k: v["replication_key_value"] for k, v in s["bookmarks"].items()} for s in published(out)] == [
        {"a": "2", "b": "1"},
        {"a": "2", "b": "4"},
        {"a": "3", "b": "4"},
    ]


def test_a_state_follows_every_record_written_before_it_by_any_thread() -> None:
    writer = BufferedMsgSpecWriter()
    written = [0] * 4  # records each thread has handed to the writer
    pad = "x" * 400
    per_thread = FLUSH_BYTES // 300  # some buffers fill up and go out on their own

    def emit(n: int) -> None:
        writer.write_message(SchemaMessage(f"s{n}", {"type": "object"}, ["i"]))
        for i in range(per_thread):
            writer.write_message(RecordMessage(f"s{n}", {"i": i, "pad": pad}))
            written[n] = i + 1
            if i % 100 == 0:
                time.sleep(0.001)  # let the others (and the STATE writer) in

    out = io.StringIO()
    with redirect_stdout(out):
        threads = [threading.Thread(target=emit, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            writer.write_message(StateMessage({"written": list(written)}))
            time.sleep(0.002)
        writer.flush()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]  # every line whole
    seen = [0] * 4
    states = 0
    for message in lines:
        if message["type"] == "RECORD":
            n = int(message["stream"][1:])
            assert message["record"]["i"] == seen[n]  # each thread's records in order, none lost
            seen[n] += 1
        elif message["type"] == "STATE":
            states += 1
            assert all(s >= w for s, w in zip(seen, message["value"]["written"], strict=True))
        else:
            assert seen[int(message["stream"][1:])] == 0  # the SCHEMA before the stream's records
    assert seen == [per_thread] * 4
    assert states > 3
