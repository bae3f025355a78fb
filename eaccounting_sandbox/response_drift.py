"""Deliberate deviations of response bodies from the spec: undeclared properties and other date shapes.

The live API's bodies may carry properties the spec does not declare (switch ``extra_properties``:
"top" adds ``RequiresReferenceNumber`` to each returned object, "nested" adds ``RowVersion`` to every
nested object and array item, "both" does both) and may write ``date-time`` values in shapes other
than the ones docs/API_FACTS.md#dates-and-timestamps lists (switch ``date_shapes``):

- ``date_only``: ``2026-01-31`` (the calendar date of the UTC instant);
- ``offset``: ``+01:00``. A timestamp keeps its instant (``10:00:00Z`` -> ``11:00:00+01:00``); a
  calendar date (date-only or midnight UTC) keeps its wall clock (``2026-01-31T00:00:00+01:00``), as a
  .NET server in Central European time writes a local date, so a client that converts to UTC before
  taking the date lands on the day before;
- ``no_z``: ``2026-01-31T10:00:00``, UTC wall clock without a zone;
- ``seven_digits``: ``2026-01-31T10:00:00.0000000Z``, .NET's round-trip form everywhere;
- ``mixed``: per value one of the above or the unchanged value, chosen by a hash of the value.

Bodies are copied, never changed in place (list items are the stored records). Response validation
checks the body before these deviations (``Sandbox.json_response``, ``list_pages``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_schema import properties
from eaccounting_sandbox.demo_time import parse_instant
from eaccounting_sandbox.switches import Switches

Record = dict[str, Any]
# Names no schema of the spec declares (a test checks it).
TOP_EXTRA: Record = {"RequiresReferenceNumber": False}
NESTED_EXTRA: Record = {"RowVersion": "AAAAAAAB9aM="}
CET = timedelta(hours=1)
MIXED = ("spec", "date_only", "offset", "no_z", "seven_digits")


def _fraction(moment: datetime) -> str:
    """``.fffffff``: .NET's 7 fractional digits (the 7th is always 0 here: Python keeps microseconds)."""
    return f".{moment.microsecond:06d}0"


def _is_calendar_date(text: str, moment: datetime) -> bool:
    return len(text) == 10 or (moment.time() == datetime.min.time() and text.endswith("Z"))


def _offset(text: str, moment: datetime) -> str:
    if _is_calendar_date(text, moment):
        return f"{moment:%Y-%m-%dT%H:%M:%S}+01:00"
    local = moment + CET
    return f"{local:%Y-%m-%dT%H:%M:%S}{_fraction(local) if local.microsecond else ''}+01:00"


SHAPES: dict[str, Callable[[str, datetime], str]] = {
    "date_only": lambda text, moment: moment.date().isoformat(),
    "offset": _offset,
    "no_z": lambda text, moment: (
        f"{moment:%Y-%m-%dT%H:%M:%S}{_fraction(moment) if moment.microsecond else ''}"
    ),
    "seven_digits": lambda text, moment: f"{moment:%Y-%m-%dT%H:%M:%S}{_fraction(moment)}Z",
}


def reshape(text: str, shape: str) -> str:
    """``text`` (a date or date-time the sandbox stores) in ``shape``; unparsable text stays as it is."""
    if shape == "mixed":
        shape = MIXED[zlib.crc32(text.encode()) % len(MIXED)]
    moment = parse_instant(text)
    if moment is None or shape == "spec":
        return text
    return SHAPES[shape](text, moment)


class Drift:
    """One response's deviations, from the switches of its endpoint."""

    def __init__(self, switches: Switches) -> None:
        self.top = switches.extra_properties in ("top", "both")
        self.nested = switches.extra_properties in ("nested", "both")
        self.shape = switches.date_shapes

    def body(self, body: Any, schema_name: str | None) -> Any:
        """A drifted copy of a single-object body (lists and bodies without a schema pass unchanged)."""
        if schema_name is None or not isinstance(body, dict):
            return body
        return self._object(body, schema_name, top=True)

    def items(self, items: Sequence[Record], schema_name: str) -> list[Any]:
        return [
            self._object(item, schema_name, top=True) if isinstance(item, dict) else item for item in items
        ]

    def _object(self, record: Record, schema_name: str, *, top: bool) -> Record:
        props = properties(schema_name)
        out: Record = {}
        for name, value in record.items():
            prop = props.get(name)
            out[name] = value if prop is None else self._value(prop, value, name)
        if (self.top and top) or (self.nested and not top):
            out.update(TOP_EXTRA if top else NESTED_EXTRA)
        return out

    def _value(self, prop: dict[str, Any], value: Any, name: str) -> Any:
        ref = prop.get("$ref")
        if ref and isinstance(value, dict):
            return self._object(value, spec.ref_name(ref), top=False)
        item_ref = prop.get("items", {}).get("$ref")
        if item_ref and isinstance(value, list):
            nested = spec.ref_name(item_ref)
            return [self._object(v, nested, top=False) if isinstance(v, dict) else v for v in value]
        if self.shape != "spec" and isinstance(value, str) and prop.get("format") == "date-time":
            return reshape(value, self.shape)
        return value
