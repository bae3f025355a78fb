"""The last step of every record before the SDK writes it (``EAccountingStream.post_process``).

``record_shape`` finds what a loader could not take as it comes; this module acts on it for one stream:
the record with its date-times rewritten goes out in place of the one read, and a property the API sent
that the SCHEMA does not declare is added to the stream's schema and announced in a new SCHEMA message,
written before the record that carries it (so a loader adds the column instead of dropping the value),
with one WARNING per stream and property. A date-time value that is no date at all is emitted as
``null``, with one WARNING per stream and property path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import SchemaMessage

from tap_eaccounting.record_shape import Record, RecordShape, json_type

if TYPE_CHECKING:
    from singer_sdk import Stream, Tap


class RecordOutput:
    def __init__(self, stream: Stream, tap: Tap) -> None:
        self.stream = stream
        self.tap = tap  # its public ``write_message``: the widened SCHEMA goes out in the message order
        self.shape = RecordShape(stream.schema)
        self._not_dates: set[str] = set()

    def process(self, record: Record) -> Record:
        checked = self.shape.check(record)
        if checked is None:
            return record
        if checked.undeclared:
            self.declare(checked.undeclared)
        for path, value in checked.not_dates:
            if path not in self._not_dates:
                self._not_dates.add(path)
                self.stream.logger.warning(
                    "%s: %s %r is not a date; emitted as null (first of its kind in this stream)",
                    self.stream.name,
                    path,
                    value,
                )
        return checked.record

    def declare(self, undeclared: Mapping[str, Any]) -> None:
        widened: list[str] = []
        for name, value in undeclared.items():
            known = name in self.shape.added
            types = self.shape.declare(name, value)
            if types is None:
                continue
            widened.append(name)
            kind = " or ".join(t for t in types if t != "null")
            if known:
                self.stream.logger.warning(
                    "%s: the API sent %s (added to the SCHEMA) as %s too; widened it in the SCHEMA to %s",
                    self.stream.name,
                    name,
                    json_type(value),
                    kind,
                )
            else:
                self.stream.logger.warning(
                    "%s: the API sent undeclared property %s; added it to the SCHEMA as %s",
                    self.stream.name,
                    name,
                    kind,
                )
        if widened:
            self.write_schema(widened)

    def write_schema(self, names: list[str]) -> None:
        """The stream's SCHEMA message again, as the SDK writes it (one per stream map), with ``names``
        declared as in the stream's schema."""
        stream = self.stream
        bookmark_keys = [stream.replication_key] if stream.replication_key else None
        for stream_map in stream.stream_maps:
            if isinstance(stream_map, RemoveRecordTransform):
                continue
            properties = stream_map.transformed_schema.setdefault("properties", {})
            for name in names:
                properties[name] = copy.deepcopy(stream.schema["properties"][name])
            self.tap.write_message(
                SchemaMessage(
                    stream_map.stream_alias,
                    stream_map.transformed_schema,
                    stream_map.transformed_key_properties,
                    bookmark_keys,
                )
            )
