"""What a record may carry on its way out: only declared top-level properties, and RFC 3339 date-times.

The live API sends two things a loader cannot take as they come:

* ``date-time`` values that are not RFC 3339 (docs/API_FACTS.md#dates-and-timestamps): ``DueDate`` and
  supplier-invoice ``PaymentDate`` date-only, and, as integrators report, times without a zone or with an
  offset. A strict loader rejects the record; target-postgres stores ``timestamp without time zone`` and
  target-snowflake drops the offset. Each such value is rewritten by ``timeparse.to_rfc3339_utc`` (a date
  alone is midnight UTC, no zone means UTC, an offset is converted, fraction digits stay as sent); a
  value that is no date at all becomes ``null`` and is reported.
* top-level properties the schema does not declare (the newer spec's ``CustomerApi.RequiresReferenceNumber``):
  SQL loaders drop them without a word. They are reported, and ``declare`` adds them to the schema, typed
  as first seen (a property only ever ``null`` is not declared: it carries nothing). Undeclared keys
  *inside* nested objects need nothing: the generated nested schemas allow them
  (``additionalProperties: true``, ``schema_gen``), so loaders keep them in the object's JSON column.

Speed: a pass-through record (``paging.RawRecord``, the API's own bytes) is checked by one msgspec decode
into a per-stream struct that declares every top-level property (an undeclared one fails it), decodes the
date-time fields and the objects that hold some, and everything else as cheaply as it can (``_ANY_JSON``); the
date-times are then matched against RFC 3339 UTC. A record that passes goes out untouched. One whose
date-times need rewriting gets the new values spliced into its bytes (``"DueDate":"2026-06-24"`` ->
``"DueDate":"2026-06-24T00:00:00Z"``, each checked by its count); only a record with an undeclared
property, or whose bytes are not in that compact form (whitespace, an escape, a date-time inside an array
of strings), is decoded fully and goes out re-encoded. A decoded record (not pass-through) is checked the
same way on its dict. Where the date-times are and how they are rewritten: ``record_dates``.

Where: a pass-through read's pages are decoded by ``decode_page``, in the page pool's threads while the
stream's thread emits earlier pages, and the one decode of each record that picks its key fields is
also its check (``ShapedRecord``); ``check``, in the stream's thread (``post_process``), then only
applies what was found, unless the schema was widened since (a ``generation`` later): then it checks
the record again itself.
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass, field
from typing import Any

import msgspec

from eaccounting_api import paging
from eaccounting_api.paging import Page, RawRecord
from tap_eaccounting.record_dates import (
    Fix,
    Level,
    collect,
    compile_level,
    date_time_tree,
    fix_dict,
    node_type,
    splice,
)

Record = dict[str, Any]
_JSON_TYPES: dict[str, Any] = {
    "boolean": bool,
    "integer": int,
    "number": float,
    "string": str,
    "object": dict[str, msgspec.Raw],
    "array": list[msgspec.Raw],
    "null": None,
}
# A declared property that holds no date-time: any JSON value, decoded as cheaply as msgspec can (a
# scalar as itself, an array or object one level deep as slices of the bytes): a fifth less CPU than a
# ``msgspec.Raw`` for every property (bench/TRANSPORT_PROFILE.md), a Raw per scalar being dearer than
# the scalar.
_ANY_JSON: Any = str | int | float | bool | None | list[msgspec.Raw] | dict[str, msgspec.Raw]


@dataclass
class Checked:
    record: Record  # what to emit in place of the record checked
    undeclared: dict[str, Any] = field(default_factory=dict)  # name -> value, for ``declare``
    not_dates: list[tuple[str, str]] = field(default_factory=list)  # (property path, value) emitted null


class ShapedRecord(RawRecord):
    """A ``RawRecord`` checked with its page (``RecordShape.decode_page``): ``shaped`` is the shape's
    generation then, the bytes to emit if rewritten, the rewrites and the values that are no dates."""

    __slots__ = ("shaped",)

    def __init__(self, raw: msgspec.Raw, fields: dict[str, Any], shaped: Any) -> None:
        super().__init__(raw, fields)
        self.shaped: tuple[int, bytes | None, list[Fix], list[tuple[str, str]]] | None = shaped


@dataclass(frozen=True)
class _PageCheck:
    """What ``decode_page`` needs of one generation of the shape (built once, shared by threads)."""

    generation: int
    decoder: msgspec.json.Decoder[Any]  # a record, as ``_build``'s struct
    level: Level | None
    attrs: dict[str, str]  # property -> its struct attribute


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


class RecordShape:
    """The checks for one stream's records; ``schema`` is the stream's own, widened in place by
    ``declare``. Used by one thread (the SDK's record loop)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.tree = date_time_tree(schema)
        self.added: set[str] = set()  # properties ``declare`` declared
        self.nulls: set[str] = set()  # undeclared properties only ever seen null
        self._lock = threading.RLock()  # ``decode_page`` runs in the page pool's threads
        self._compile()

    def _compile(self) -> None:
        with self._lock:
            self.declared = frozenset(self.schema["properties"])
            self._decoder: msgspec.json.Decoder[Any] | None = None  # built for the first record
            self._level: Level | None = None  # where its date-times are (None: it has none)
            self._page_check: _PageCheck | None = None
            # A record checked with its page under an older generation is checked again (``check``).
            self.generation = getattr(self, "generation", 0) + 1

    def _build(self) -> msgspec.json.Decoder[Any]:
        """The decoder of a pass-through record: every property the schema declares (and those only ever
        seen null), so an undeclared one fails it; the date-times and the objects holding them decoded,
        every other property skipped as a slice of the bytes."""
        properties: dict[str, Any] = self.schema["properties"]
        names = [*properties, *sorted(self.nulls - self.declared)]
        fields: list[tuple[str, Any, Any]] = []
        for i, name in enumerate(names):
            if name in self.tree:
                kind = node_type(self.tree[name], f"N{i}")
            elif name in self.added:
                kind = _python_type(properties[name])
            elif name in self.nulls:
                kind = None
            else:
                kind = _ANY_JSON
            fields.append((f"p{i}", kind, msgspec.field(default=None, name=name)))
        self._level = (
            compile_level(self.tree, [f"p{names.index(name)}" for name in self.tree]) if self.tree else None
        )
        self._decoder = msgspec.json.Decoder(msgspec.defstruct("Record", fields, forbid_unknown_fields=True))
        self._page_check = _PageCheck(
            self.generation,
            self._decoder,
            self._level,
            {name: f"p{i}" for i, name in enumerate(names)},
        )
        return self._decoder

    # -- a whole page, in the page pool's threads ----------------------------------------------------------
    def decode_page(self, content: bytes, where: str, raw_fields: tuple[str, ...]) -> Page:
        """``paging.decode_page`` with ``raw_fields``, every record also checked as ``check`` does, in
        the same decode that picks its ``raw_fields`` (one decode of each record, not two): records come
        as ``ShapedRecord``s, and ``check`` only applies what was found. A record that does not fit
        ``_build``'s struct (an undeclared property, a value not of an added property's type) comes
        as a plain ``RawRecord``, checked by ``check`` alone."""
        with self._lock:
            if self._decoder is None:
                self._build()
            page_check = self._page_check
        assert page_check is not None
        if any(name not in page_check.attrs for name in raw_fields):
            return paging.decode_page(content, where, raw_fields)
        page, items = paging.raw_page(content, where)
        decode = page_check.decoder.decode
        get = operator.attrgetter(*(page_check.attrs[name] for name in raw_fields))
        one = len(raw_fields) == 1
        for item in items:
            try:
                struct = decode(item)
            except msgspec.ValidationError:
                page.data.append(paging.raw_record(item, raw_fields, where))
                continue
            values = get(struct)
            fields = dict(zip(raw_fields, (values,) if one else values, strict=True))
            page.data.append(ShapedRecord(item, fields, _shaped(item, struct, page_check)))
        return page

    # -- checking -------------------------------------------------------------------------------------
    def check(self, record: Record) -> Checked | None:
        """``None`` when the record may go out as it is, else what to emit and what to declare."""
        if not isinstance(record, RawRecord):
            return self._check_dict(record)
        if isinstance(record, ShapedRecord) and record.shaped and record.shaped[0] == self.generation:
            _, spliced, found, bad = record.shaped
            return self._fixed(record, spliced, found, bad) if found else None
        raw = record.raw
        with self._lock:
            decoder = self._decoder or self._build()
        try:
            decoded = decoder.decode(raw)
        except msgspec.ValidationError:
            return self._full(raw)
        if self._level is None:
            return None
        fixes: list[Fix] = []
        not_dates: list[tuple[str, str]] = []
        collect(decoded, self._level, "", fixes, not_dates)
        if not fixes:
            return None
        return self._fixed(record, splice(bytes(raw), fixes), fixes, not_dates)

    def _fixed(
        self, record: RawRecord, spliced: bytes | None, fixes: list[Fix], not_dates: list[tuple[str, str]]
    ) -> Checked | None:
        if spliced is None:
            return self._full(record.raw)
        record.raw = msgspec.Raw(spliced)
        for name, old, new in fixes:  # the decoded key fields: a rewritten replication key too
            if record.get(name) == old:
                record[name] = new
        return Checked(record, not_dates=not_dates)

    def _full(self, raw: msgspec.Raw) -> Checked | None:
        data = msgspec.json.decode(raw)
        if not isinstance(data, dict):
            raise ValueError(f"a list item is not a JSON object: {bytes(raw)[:80]!r}")
        return self._check_dict(data)

    def _check_dict(self, data: Record) -> Checked | None:
        undeclared = {}
        for name in data.keys() - self.declared:
            value = data[name]
            if value is not None or name not in self.nulls:
                undeclared[name] = value
        for name in self.added:
            value = data.get(name)
            if value is not None and not _fits(value, self.schema["properties"][name]):
                undeclared[name] = value
        not_dates: list[tuple[str, str]] = []
        if fix_dict(data, self.tree, "", not_dates) or undeclared:
            return Checked(data, undeclared, not_dates)
        return None

    # -- widening -------------------------------------------------------------------------------------
    def declare(self, name: str, value: Any) -> list[str] | None:
        """Declare ``name`` in the schema as ``value``'s JSON type, nullable (an object as an object with
        any properties, an array with any items), or widen a property declared so to take it too. The
        new type list when the schema changed; ``None`` when it did not (a ``null`` carries no type)."""
        with self._lock:  # the schema is read by ``_build`` in the page pool's threads too
            return self._declare(name, value)

    def _declare(self, name: str, value: Any) -> list[str] | None:
        properties: dict[str, Any] = self.schema["properties"]
        kind = json_type(value)
        if kind == "null":
            if name not in self.declared and name not in self.nulls:
                self.nulls.add(name)
                self._compile()
            return None
        if name in properties and name not in self.added:
            return None  # declared by the generated schema: not this module's to change
        types: list[str] = list(properties[name]["type"]) if name in properties else ["null"]
        if kind in types or (kind == "integer" and "number" in types):
            return None
        if kind == "number" and "integer" in types:
            types[types.index("integer")] = "number"
        else:
            types.insert(len(types) - 1, kind)
        prop: dict[str, Any] = {"type": types}
        if "object" in types:
            prop["additionalProperties"] = True
        properties[name] = prop
        self.added.add(name)
        self._compile()
        return types


def _python_type(prop: dict[str, Any]) -> Any:
    kinds = [_JSON_TYPES[t] for t in prop["type"]]
    union = kinds[0]
    for kind in kinds[1:]:
        union = union | kind
    return union


def _fits(value: Any, prop: dict[str, Any]) -> bool:
    kind = json_type(value)
    types = prop["type"]
    return kind in types or (kind == "integer" and "number" in types)


def _shaped(raw: msgspec.Raw, struct: Any, page_check: _PageCheck) -> Any:
    """``ShapedRecord.shaped`` of one record of a page."""
    if page_check.level is None:
        return (page_check.generation, None, [], [])
    fixes: list[Fix] = []
    not_dates: list[tuple[str, str]] = []
    collect(struct, page_check.level, "", fixes, not_dates)
    if not fixes:
        return (page_check.generation, None, fixes, not_dates)
    spliced = splice(bytes(raw), fixes)
    return None if spliced is None else (page_check.generation, spliced, fixes, not_dates)
