"""Fan-out streams and the per-parent read: which per-parent streams need the ``fan_out_streams`` setting,
and how a full-table child reads its parents, with a progress line at least every ``PROGRESS_INTERVAL``.

A *fan-out stream* (the ``fan_out`` column of ``streams.STREAMS``) costs one request per record of an
unbounded parent: ``customer_auto_invoice_recipients`` (per customer), ``voucher_over_under_payments``
(per voucher: about 1,000 requests on the demo company, 65 s of which 61 without a log line before this
module; 83 silent minutes for 50,000 vouchers). Selection cannot keep them off: Meltano's default
``select: ['*.*']`` selects every stream, whatever its ``selected_by_default``. So a fan-out stream syncs
only when it is selected AND listed in ``fan_out_streams`` (a list of names rather than one switch: one
may want recipients per customer but not a request per voucher). Selected but not listed, it is not
synced and reads nothing (not even its parent's ids): one INFO line per run says how to turn it on, and
the run summary lists it as ``skipped``. Discovery lists it as always, ``selected_by_default`` false.
A name in the setting that is no fan-out stream is a configuration error (``setting_problem``).

Every full-table child (fan-out streams, bank transactions per bank account) reads its parents through
``read_per_parent``: up to ``max_concurrency`` parents at a time, emitted in parent order. While it runs,
``Progress`` logs one line at least every ``PROGRESS_INTERVAL`` seconds (when a parent finishes, or when
the stream has waited that long for one): parents done out of the total, records read, seconds since the
stream started, the rate-limit waits it met (the client-side limiter's waits and the 429 answers it
waited out: count and seconds, from the shared client's per-stream counts) and an ETA from the rate so
far. A fan-out stream also logs a line when it starts reading its parents and one when it is done.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from time import monotonic
from typing import Any

from singer_sdk import Stream

from tap_eaccounting.stream_scheduler import StreamCounter
from tap_eaccounting.streams import BY_NAME, FAN_OUT_STREAMS, SINGLE_OBJECT_STREAMS

SETTING = "fan_out_streams"
PROGRESS_INTERVAL = 10.0  # seconds between two progress lines of a running per-parent read, at most
SKIP_REASON = f"not in {SETTING}"
Record = dict[str, Any]


def setting_problem(config: Mapping[str, Any]) -> str | None:
    """What is wrong with the ``fan_out_streams`` setting, as one line; ``None`` when nothing is."""
    value = config.get(SETTING)
    if value is None:
        return None
    allowed = ", ".join(FAN_OUT_STREAMS)
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return f"{SETTING}: expected a list of stream names ({allowed}), got {value!r}"
    known = {*BY_NAME, *(s.name for s in SINGLE_OBJECT_STREAMS)}
    for name in value:
        if name not in known:
            return f"{SETTING}: {name!r} is no stream of this tap; the fan-out streams are {allowed}"
        if name not in FAN_OUT_STREAMS:
            return (
                f"{SETTING}: {name!r} is not a fan-out stream (it syncs whenever selected); "
                f"the fan-out streams are {allowed}"
            )
    return None


def enabled(config: Mapping[str, Any]) -> frozenset[str]:
    """The fan-out streams the setting turns on (values ``setting_problem`` refuses are ignored here)."""
    value = config.get(SETTING)
    names = value if isinstance(value, list) else []
    return frozenset(name for name in names if name in FAN_OUT_STREAMS)


def not_enabled_message(name: str) -> str:
    """The run's one line about a selected fan-out stream that the setting does not turn on."""
    parent = BY_NAME[name].parent
    return (
        f"{name}: selected but not synced: a fan-out stream costs one request per {parent} record; "
        f"add it to the {SETTING} setting to sync it"
    )


class FanOutSelection(Stream):
    """A stream that the catalog may select but that is not synced while ``fan_out_off`` (a fan-out
    stream ``fan_out_streams`` does not list): ``selected`` is false then, so neither the SDK's nor the
    tap's sync reads it; ``held_back`` tells the run summary it was selected."""

    fan_out_off = False

    @property
    def held_back(self) -> bool:
        """Selected in the catalog, not synced for want of the setting."""
        return self.fan_out_off and bool(self.mask.get((), True))

    @property
    def selected(self) -> bool:
        return bool(self.mask.get((), True)) and not self.fan_out_off

    @selected.setter
    def selected(self, value: bool | None) -> None:
        Stream.selected.fset(self, value)  # type: ignore[attr-defined]


def duration(seconds: float) -> str:
    """``52 s``, ``12 min 5 s``, ``1 h 23 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.0f} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def stream_counts(stats: Counter[str], stream: str) -> Counter[str]:
    """What the shared client counted for ``stream`` so far (empty outside a scheduled run)."""
    return stats.of(stream) if isinstance(stats, StreamCounter) else Counter()


class Progress:
    """The progress of one per-parent read; thread-safe (parents finish in the pool's threads).

    ``stats`` are the shared client's counts (``stream_counts`` takes the stream's); the line shows what
    was counted since this object was made, i.e. since the stream started reading. ``clock`` is
    injectable: tests drive it, nothing here sleeps."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        stats: Counter[str],
        clock: Callable[[], float] = monotonic,
        *,
        announce: bool = True,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self.name = name
        self.logger = logger
        self.stats = stats
        self.clock = clock
        self.interval = interval
        self.announce = announce  # start and end lines too (fan-out streams)
        self.total = 0
        self.done = 0
        self.records = 0
        self._lock = threading.Lock()
        self._baseline = self.counts()
        self.started = clock()
        self._parents_started = self.started
        self._next_line = self.started + interval

    def start(self, total: int, parent: str) -> None:
        """The parents are listed: ``total`` of them, each a record of stream ``parent``."""
        with self._lock:
            self.total = total
            self._parents_started = self.clock()
        if self.announce:
            self.logger.info("%s: reading %s parents (%s), one request each", self.name, f"{total:,}", parent)

    def counts(self) -> Counter[str]:
        return stream_counts(self.stats, self.name)

    def parent_done(self, records: int) -> None:
        with self._lock:
            self.done += 1
            self.records += records
        self.tick()

    def until_due(self) -> float:
        """Seconds until the next line is due (at least a little, at most ``interval``)."""
        with self._lock:
            return min(self.interval, max(0.05, self._next_line - self.clock()))

    def tick(self) -> None:
        """Log the line if it is due (under the lock: lines come out in the order of their counts)."""
        with self._lock:
            now = self.clock()
            if now >= self._next_line:
                self._next_line = now + self.interval
                self.logger.info("%s", self.line(now))

    def finish(self) -> None:
        if self.announce:
            with self._lock:
                self.logger.info("%s; done", self.line(self.clock()))

    def line(self, now: float) -> str:
        """``voucher_over_under_payments: 420/1,000 parents, 1,200 records, 38 s, rate-limit waits 12
        (9.5 s), ETA 52 s`` (called under the lock)."""
        used = self.counts() - self._baseline
        waits = used["limiter_waits"] + used["429"]
        waited = (used["limiter_wait_ms"] + used["429_wait_ms"]) / 1000
        text = (
            f"{self.name}: {self.done:,}/{self.total:,} parents, {self.records:,} records, "
            f"{duration(now - self.started)}, rate-limit waits {waits} ({waited:.1f} s"
        )
        text += f"; {used['429']} after a 429)" if used["429"] else ")"
        if self.done >= self.total:
            return text
        if not self.done:
            return text + ", ETA unknown"
        rate = self.done / max(now - self._parents_started, 1e-9)
        return text + f", ETA {duration((self.total - self.done) / rate)}"


def read_per_parent(
    parents: Sequence[str],
    read_parent: Callable[[str], list[Record]],
    pool: Executor,
    window: int,
    progress: Progress,
) -> Iterator[Record]:
    """Every parent's records, ``window`` parents at a time in ``pool``, emitted in parent order."""
    futures: dict[int, Future[list[Record]]] = {}

    def task(value: str) -> list[Record]:
        records = read_parent(value)
        progress.parent_done(len(records))
        return records

    def result(future: Future[list[Record]]) -> list[Record]:
        # Waiting for a parent (the rate limit may hold it for a minute): the line stays due.
        while not future.done():
            if not wait([future], timeout=progress.until_due()).done:
                progress.tick()
        return future.result()

    try:
        for index, value in enumerate(parents):
            futures[index] = pool.submit(task, value)
            if index >= window:
                yield from result(futures.pop(index - window))
        for index in sorted(futures):
            yield from result(futures.pop(index))
    finally:
        for pending in futures.values():
            pending.cancel()
    progress.finish()
