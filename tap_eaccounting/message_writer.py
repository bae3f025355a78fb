"""A buffered msgspec Singer writer.

The SDK's ``MsgSpecWriter`` writes and flushes stdout after every message: one ``write`` syscall per
RECORD. This writer encodes RECORD messages into one growing buffer and hands it to stdout when it
passes ``FLUSH_BYTES`` or when any other message comes (SCHEMA, STATE, ...), flushing then. So every
RECORD reaches stdout before the STATE that follows it, which is all a target's bookmarking relies on;
at most ``FLUSH_BYTES`` of records sit in memory, and a killed tap loses only records that no STATE
had covered yet (they are read again from the previous bookmark).
"""

from __future__ import annotations

import sys
from typing import Any

import msgspec
from singer_sdk.singerlib import Message, RecordMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter

from eaccounting_api.paging import RawRecord

FLUSH_BYTES = 1 << 20


class BufferedMsgSpecWriter(GenericSingerWriter[bytes, Message]):
    def __init__(self) -> None:
        super().__init__()
        self._encoder = msgspec.json.Encoder()
        self._buffer = bytearray()

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
        buffer = self._buffer
        self._encoder.encode_into(self._as_dict(message), buffer, len(buffer))
        buffer.extend(b"\n")
        if len(buffer) >= FLUSH_BYTES or not isinstance(message, RecordMessage):
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        out: Any = getattr(sys.stdout, "buffer", None)
        if out is None:  # stdout replaced by a text stream (tests capturing output)
            sys.stdout.write(self._buffer.decode("utf-8"))
        else:
            out.write(self._buffer)
        sys.stdout.flush()
        self._buffer.clear()
