"""A buffered msgspec Singer writer, safe for streams writing from several threads at once.

The SDK's ``MsgSpecWriter`` writes and flushes stdout after every message: one ``write`` syscall per
RECORD. This writer encodes RECORD messages into a buffer of the calling thread (one per stream being
synced) and hands the buffer to stdout when it passes ``FLUSH_BYTES``, or with any other message: a
SCHEMA or other stream message goes out with the calling thread's buffer, in the order it was written;
a STATE goes out after the buffers of *every* thread. All of it under one lock, so the messages of
different streams interleave only at message boundaries (in practice, in chunks of up to
``FLUSH_BYTES``), each stream's messages keep their order (its SCHEMA before its records), and every
RECORD written before a STATE reaches stdout before it, which is all a target's bookmarking relies on.
At most ``FLUSH_BYTES`` of records per thread sit in memory, and a killed tap loses only records that no
STATE had covered yet (they are read again from the previous bookmark).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import msgspec
from singer_sdk.singerlib import Message, RecordMessage, StateMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter

from eaccounting_api.paging import RawRecord

FLUSH_BYTES = 1 << 20


class BufferedMsgSpecWriter(GenericSingerWriter[bytes, Message]):
    def __init__(self) -> None:
        super().__init__()
        self._encoder = msgspec.json.Encoder()
        # Re-entrant: a subclass may hold it around ``write_message``.
        self.lock = threading.RLock()
        self._buffers: dict[int, bytearray] = {}  # thread ident -> its encoded, unsent messages

    @staticmethod
    def _as_dict(message: Message) -> dict[str, Any]:
        data = message.to_dict()
        record = data.get("record")
        if isinstance(record, RawRecord):
            data["record"] = record.raw  # the API's JSON, emitted verbatim
        return data

    def serialize_message(self, message: Message) -> bytes:
        return self._encoder.encode(self._as_dict(message)) + b"\n"

    def write_message(self, message: Message) -> None:
        data = self._as_dict(message)
        record = isinstance(message, RecordMessage)
        with self.lock:
            if isinstance(message, RecordMessage):
                self.note_record(message)
            elif isinstance(message, StateMessage):
                self._send_all()  # every record written before this STATE goes out first
            ident = threading.get_ident()
            buffer = self._buffers.get(ident)
            if buffer is None:
                buffer = self._buffers[ident] = bytearray()
            self._encoder.encode_into(data, buffer, len(buffer))
            buffer.extend(b"\n")
            if len(buffer) >= FLUSH_BYTES or not record:
                self._send(buffer)
                sys.stdout.flush()

    def note_record(self, message: RecordMessage) -> None:
        """Called with each RECORD message, under the writer's lock (for subclasses that count)."""

    def flush(self) -> None:
        """Send every thread's buffered messages to stdout."""
        with self.lock:
            self._send_all()
            sys.stdout.flush()

    def _send_all(self) -> None:
        for buffer in self._buffers.values():
            self._send(buffer)
        self._buffers.clear()  # threads come and go (each run has its own): start afresh

    @staticmethod
    def _send(buffer: bytearray) -> None:
        if not buffer:
            return
        out: Any = getattr(sys.stdout, "buffer", None)
        if out is None:  # stdout replaced by a text stream (tests capturing output)
            sys.stdout.write(buffer.decode("utf-8"))
        else:
            out.write(buffer)
        buffer.clear()
