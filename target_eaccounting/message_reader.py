"""Reading the Singer input: every line numbered, and a line the target cannot use rejected, not fatal.

The SDK's reader stops the whole run at the first bad line, before anything read so far is written.
This reader goes on, handing each bad line to a callback (the target puts it in the reject file with
its line number) and keeping the number of the line being handled in ``line_number``, so a record
rejected later still names its line. Rejected here:

- a line that is not a JSON object, names no known message type, or is a RECORD without a stream
  name or a record object (``invalid_message``);
- a RECORD for a stream whose SCHEMA has not come yet (``record_before_schema``);
- a RECORD without one of its stream's ``key_properties`` (``missing_key_property``).

A bad SCHEMA (or STATE) message still stops the run: every record of its stream would be unusable.

It is plugged in through the SDK's public hooks: the target's ``message_reader`` argument, and the
reader's own ``process_lines`` and ``deserialize_json``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

INVALID_MESSAGE = "invalid_message"
RECORD_BEFORE_SCHEMA = "record_before_schema"
MISSING_KEY_PROPERTY = "missing_key_property"


@dataclass(frozen=True)
class BadMessage:
    line_number: int
    reason: str
    message: str
    stream: str | None = None
    #: the missing key property
    field: str | None = None
    #: the RECORD's record, when the line held one
    record: dict[str, Any] | None = None
    #: the line as read, when it held no usable message
    raw_line: str | None = None


class LineNumberingReader(SingerReader):
    def __init__(self, on_bad_message: Callable[[BadMessage], None]) -> None:
        super().__init__()
        self.on_bad_message = on_bad_message
        #: the input line being handled (None outside ``process_lines``)
        self.line_number: int | None = None
        self._key_properties: dict[str, list[str]] = {}

    def deserialize_json(self, line: str) -> dict:
        # The SDK's version logs the line with a traceback; here the reject file keeps the line.
        try:
            message = deserialize_json(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputLine(f"the line is not JSON ({exc.msg} at character {exc.pos + 1})") from None
        if not isinstance(message, dict):
            raise InvalidInputLine(f"the line is a JSON {type(message).__name__}, not a Singer message")
        return message

    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict], None]]
    ) -> Counter[str]:
        stats: Counter[str] = Counter()
        for number, line in enumerate(file_input or self.default_input, start=1):
            self.line_number = number
            if not line.strip():
                continue  # nothing to lose
            try:
                message = self.deserialize_json(line)
                kind = self._message_type(message, callbacks)
            except InvalidInputLine as exc:
                raw = line.rstrip("\r\n")
                self.on_bad_message(BadMessage(number, INVALID_MESSAGE, str(exc), raw_line=raw))
                continue
            try:
                callbacks[kind](message)
            except RecordsWithoutSchemaException:
                self._reject_record(number, RECORD_BEFORE_SCHEMA, "came before its stream's SCHEMA", message)
                continue
            except MissingKeyPropertiesError:
                keys = self._key_properties.get(message["stream"], [])
                missing = [k for k in keys if k not in message["record"]] or keys
                what = f"lacks the key propert{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}"
                self._reject_record(
                    number, MISSING_KEY_PROPERTY, what, message, field=", ".join(missing) or None
                )
                continue
            stats[kind] += 1
        self.line_number = None
        return stats

    def _message_type(self, message: dict[str, Any], callbacks: dict[str, Callable[[dict], None]]) -> str:
        kind = message.get("type")
        if not isinstance(kind, str) or kind not in callbacks:
            named = f"type {kind[:40]!r}" if isinstance(kind, str) else "no message type"
            raise InvalidInputLine(f"the line is no Singer message ({named})")
        stream = message.get("stream")
        if kind == SingerMessageType.RECORD:
            if not isinstance(stream, str) or not stream:
                raise InvalidInputLine("a RECORD without a stream name")
            if not isinstance(message.get("record"), dict):
                raise InvalidInputLine(f"a RECORD for stream {stream!r} without a record object")
        if kind == SingerMessageType.SCHEMA and isinstance(stream, str):
            self._key_properties[stream] = [str(k) for k in message.get("key_properties") or []]
        return kind

    def _reject_record(
        self, number: int, reason: str, what: str, message: dict[str, Any], *, field: str | None = None
    ) -> None:
        stream = message["stream"]
        text = f"a RECORD for stream {stream!r} {what}"
        self.on_bad_message(BadMessage(number, reason, text, stream, field, message["record"]))
