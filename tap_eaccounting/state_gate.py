"""The one way the tap writes STATE, also while streams sync side by side (``stream_scheduler``).

The SDK's streams write STATE through the tap's ``state_writer`` (``write_state(tap_state)``), with the
*whole* tap state: every stream's bookmarks, from whichever stream thread is writing. While streams
overlap, that dict is being changed by the other threads (copying it could fail mid-way), and it holds
their bookmarks at whatever point they reached. So during a scheduled run a stream's ``write_state``
*publishes* only its own state: a copy of its own entry, taken in its own thread, at a point where the
SDK says that entry is consistent with the records it emitted (after a partition, every 10,000
records, at the end). Every STATE written is the run's starting state with each stream's last
published entry in place of its own: a stream not yet started keeps its old bookmarks, a running one
its last published ones, a finished one its final ones (the tap publishes after ``_keep_finished_work``).

A STATE never claims a record that is not out: a stream publishes after its records went to the message
writer, and the writer sends every buffered record of every thread before a STATE
(``message_writer``). Outside a scheduled run (the SDK's own ``sync_all``) it writes the state it is
given, as the SDK's state writer does; both skip a STATE equal to the last one.

``forget_unfinished`` drops what an unfinished sync leaves in a stream's state (a killed run's, at the
start of the next one; a failed stream's, before it publishes its last state).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from singer_sdk.singerlib import Message, StateMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter

from tap_eaccounting.stream_scheduler import CURRENT_STREAM

# What the SDK keeps in a stream's (or partition's) state while syncing it; finalizing turns the
# progress markers into the bookmark. A failed sync is not finalized: its markers hold the largest
# replication key *seen*, and pages arrive in Id order, so rows below it may be unread. Dropping them
# leaves the bookmark where the last complete sync of the stream (or partition) put it. The SDK drops
# progress markers the same way at the start of a run, with a private helper.
UNFINISHED_KEYS = ("progress_markers", "starting_replication_value", "replication_key_signpost")


def forget_unfinished(stream_state: dict[str, Any]) -> None:
    """Drop the in-progress keys (``UNFINISHED_KEYS``) of a stream state and of its partitions."""
    for state in (stream_state, *stream_state.get("partitions", [])):
        for key in UNFINISHED_KEYS:
            state.pop(key, None)


class StateGate:
    def __init__(self, writer: GenericSingerWriter[Any, Message]) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self._base: dict[str, Any] | None = None  # the state when the scheduled run started
        self._published: dict[str, Any] = {}  # stream -> its last published entry

    @contextlib.contextmanager
    def scheduled(self, state: Mapping[str, Any]) -> Iterator[None]:
        """While streams run in worker threads (``stream_scheduler``)."""
        with self._lock:
            self._base, self._published = copy.deepcopy(dict(state)), {}
        try:
            yield
        finally:
            with self._lock:
                self._base = None

    def write_state(self, state: Mapping[str, Any]) -> None:
        with self._lock:
            if self._base is None:
                value = dict(state)
            else:
                stream = CURRENT_STREAM.get()
                own = state.get("bookmarks", {}).get(stream) if stream else None
                if stream and own is not None:
                    self._published[stream] = copy.deepcopy(own)
                value = self._composed()
            if value == self._last:
                return
            self._writer.write_message(StateMessage(value=value))
            self._last = copy.deepcopy(value)

    def _composed(self) -> dict[str, Any]:
        """The run's starting state, each stream's entry replaced by its last published one."""
        assert self._base is not None
        return {**self._base, "bookmarks": {**self._base.get("bookmarks", {}), **self._published}}
