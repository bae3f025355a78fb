"""Syncing the selected streams of a run at once, each in a worker thread.

* ``StreamScheduler`` runs one task per stream (the tap's ``_sync_stream``) in up to
  ``max_parallel_streams`` worker threads, in ``start_order``. Until one stream has synced the run
  goes one stream at a time: a run-level error (unreachable host, wrong ``api_url``, refused
  credentials, a dead grant) then shows on one stream and stops the run before others start, as in a
  sequential run. ``stop`` (a run-level error, ``fail_fast``, a ``FatalError``, SIGINT/SIGTERM) starts
  no further stream; the running ones end at their next record (``check`` raises ``RunStopped``).
* Parents before children: a child stream reads its parent's ids through ``Runtime.parent_ids``,
  listed once per run and parent (the first child to ask lists them, the others wait for the list), so
  no child reads before its parent's id list is complete, whichever starts first.
* One shared client and two shared pools: every stream's requests go through the tap's one
  ``EAccountingClient`` (one connection pool, one per-endpoint limiter); the pages of every stream share
  the one page pool and the parents of every full-table child the one parent pool (``max_concurrency``
  workers each). So at most ``max_parallel_streams + 2 * max_concurrency`` requests are in flight: each
  stream thread's own (page 1, tails, probes), plus the two pools'.
* ``CURRENT_STREAM`` names the stream a thread works for; ``ContextPool`` carries it into the pools'
  tasks, and ``StreamCounter`` (the client's ``stats``) books every request, retry and 429 to it, so
  the run summary's numbers stay per stream while streams overlap.

Memory stays bounded: per running stream its reader's page window, its fan-out window and its
writer buffer (``message_writer``); streams not started hold nothing.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import ContextVar, copy_context
from types import FrameType
from typing import Any, TypeVar

from singer_sdk import Stream

from tap_eaccounting.streams import BY_NAME

DEFAULT_MAX_PARALLEL_STREAMS = 4
CURRENT_STREAM: ContextVar[str | None] = ContextVar("CURRENT_STREAM", default=None)
R = TypeVar("R")


class RunStopped(Exception):
    """Raised in a stream's thread at its next record once the run is stopping."""


class ContextPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in the submitter's context (``CURRENT_STREAM`` included)."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(copy_context().run, fn, *args, **kwargs)


class StreamCounter(Counter[str]):
    """``EAccountingClient.stats``, also booked per stream: the client counts with ``stats[key] += n``
    (under its lock), and each such count goes to ``CURRENT_STREAM``'s counter too (``of``)."""

    def __init__(self) -> None:
        super().__init__()
        self._streams: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def __setitem__(self, key: str, value: int) -> None:
        stream = CURRENT_STREAM.get()
        if stream is not None:
            self._streams[stream][key] += value - self[key]
        super().__setitem__(key, value)

    def of(self, stream: str) -> Counter[str]:
        """A copy of what ``stream``'s sync counted so far."""
        return Counter(self._streams.get(stream, {}))


def start_order(streams: Sequence[Stream]) -> list[Stream]:
    """The order streams start in: first one expected to be quick (one list, no parent: it proves the
    host, URL and credentials alone), then the full-table children (one request per parent: the long poles
    of a run), then the partitioned children and ``account_balances`` (several requests one after
    another), then the rest; catalog order within each group."""

    def group(stream: Stream) -> int:
        definition = BY_NAME.get(stream.name)
        if definition is None:
            return 2
        if definition.parent and not definition.replication_key:
            return 0
        return 1 if definition.parent or definition.name == "account_balances" else 2

    ordered = sorted(streams, key=group)  # stable: catalog order within a group
    opener = next((s for s in ordered if group(s) == 2), None)
    return [opener, *(s for s in ordered if s is not opener)] if opener else ordered


class StreamScheduler:
    def __init__(self, max_parallel: int, logger: logging.Logger) -> None:
        self.max_parallel = max(1, max_parallel)
        self.logger = logger
        self.limit = 1  # one stream at a time until ``open`` (a stream has synced)
        self.reason: str | None = None  # why the run stopped
        self.interrupted_by: str | None = None  # the signal that stopped it
        # A plain flag, not an Event: the signal handler sets it too, and must take no lock the
        # interrupted main thread may hold. Stream threads read it at each record.
        self._stopping = False

    @property
    def stopping(self) -> bool:
        return self._stopping

    def open(self) -> None:
        """A stream synced: the API answers and the credentials work; run streams side by side."""
        self.limit = self.max_parallel

    def stop(self, reason: str) -> None:
        if not self._stopping:
            self.reason = reason
            self._stopping = True

    def check(self) -> None:
        """In a stream's thread, at each record: end the stream's sync if the run is stopping."""
        if self._stopping and CURRENT_STREAM.get() is not None:
            raise RunStopped(f"the run stopped ({self.reason})")

    def run(self, streams: Sequence[Stream], task: Callable[[Stream], R]) -> Iterator[tuple[Stream, R]]:
        """``task(stream)`` for each stream in a worker thread (with ``CURRENT_STREAM`` set), yielding
        ``(stream, result)`` in the coordinating thread as each ends. A task that raises stops the run;
        once every started task has ended, the first such exception is raised."""
        queue = deque(streams)
        running: dict[Future[R], tuple[int, Stream]] = {}
        error: BaseException | None = None
        started = 0

        def job(stream: Stream) -> R:
            CURRENT_STREAM.set(stream.name)  # in this job's own copy of the context
            return task(stream)

        with ThreadPoolExecutor(self.max_parallel, thread_name_prefix="stream") as workers:
            try:
                while queue or running:
                    while queue and len(running) < self.limit and not self.stopping:
                        stream = queue.popleft()
                        running[workers.submit(copy_context().run, job, stream)] = (started, stream)
                        started += 1
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=lambda f: running[f][0]):
                        _, stream = running.pop(future)
                        try:
                            result = future.result()
                        except BaseException as exc:  # noqa: BLE001 - raised once the others ended
                            self.stop(type(exc).__name__)
                            error = error or exc
                            continue
                        yield stream, result
            finally:
                if running:  # the caller left early: end the running streams, then wait for them
                    self.stop(self.reason or "stopped")
        if error is not None:
            raise error

    @contextlib.contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop the run (no stream starts, the running ones end at their next
        record, the STATE keeps what finished) instead of the SDK's handler, which writes the live state
        and exits from the main thread while the stream threads go on."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set from the main thread
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            self.logger.info("Gracefully shutting down...")
            self.interrupted_by = signal.Signals(signum).name
            self.stop(self.interrupted_by)

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                # None: a handler not set from Python, which cannot be put back; the default then.
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)
