"""The OData subset the sandbox understands on list endpoints: ``$filter`` and ``$orderby``.

``$filter``: comparisons ``eq ne gt ge lt le`` between a scalar property of the item schema and a
literal (``'text'`` with ``''`` for a quote, numbers, ``true``/``false``/``null``, guids, date-times such
as ``2024-01-01T00:00:00Z`` or ``2024-01-01``), combined with ``and``, ``or``, ``not`` and parentheses,
plus ``contains``/``startswith``/``endswith(Field,'text')``. Date-times compare as instants, whatever
form the stored value has (date-only ``DueDate``, 7-digit ``ModifiedUtc``). Anything else (lambda
operators such as ``any``, arithmetic, unknown properties) is 400 ErrorCode 6000 (QueryParameterError);
a malformed date-time literal is 6001. Nothing is silently ignored.

Leniency kept on purpose: a number compared with a string property compares numerically, because
integrators filter ``/accounts`` with ``Number gt 1000`` although ``AccountApi.Number`` is a string.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from eaccounting_sandbox.demo_schema import properties
from eaccounting_sandbox.demo_time import instant_key
from eaccounting_sandbox.error_responses import QUERY_DATETIME_ERROR, ApiError, bad_query

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN_RE = re.compile(
    r"\s*(?:"
    r"(?P<typed>(?:datetime|datetimeoffset|guid)'[^']*')"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])"
    r"|(?P<datetime>\d{4}-\d{1,2}-\d{1,2}(?:T[0-9:.]*(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w:])"
    r"|(?P<baddate>\d{4}-\d[\w:.+-]*)"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)(?![\w-])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<punct>[(),])"
    r")"
)
_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_FUNCTIONS = {
    "contains": lambda value, arg: arg in value,
    "startswith": lambda value, arg: value.startswith(arg),
    "endswith": lambda value, arg: value.endswith(arg),
}
_SCALARS = {"string", "integer", "number", "boolean"}


def _fail(message: str) -> ApiError:
    return bad_query(f"The query specified in the URI is not valid. {message}")


def _tokens(text: str) -> list[tuple[str, str]]:
    result, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise _fail(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        if kind == "typed":
            # OData v3 typed literals (datetime'2024-01-01T00:00:00', guid'...'): unwrap to the v4 form.
            prefix, _, rest = match.group(kind).partition("'")
            result.append(("guid" if prefix == "guid" else "datetime", rest[:-1]))
            pos = match.end()
            continue
        if kind == "baddate":
            raise bad_query(
                f"'{match.group(kind)}' is not a valid date-time (use 2024-01-01T00:00:00Z).",
                QUERY_DATETIME_ERROR,
            )
        result.append((kind, match.group(kind)))
        pos = match.end()
    return result


class _Literal:
    def __init__(self, kind: str, raw: str) -> None:
        self.kind = kind
        self.raw = raw
        self.value: Any
        if kind == "string":
            self.value = raw[1:-1].replace("''", "'")
        elif kind == "number":
            self.value = float(raw.rstrip("mMdDfFlL"))
        elif kind == "guid":
            self.value = raw.lower()
        else:
            self.value = {"true": True, "false": False, "null": None}.get(raw, raw)


class _Parser:
    def __init__(self, text: str, schema: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.props = properties(schema)
        self.schema = schema

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _fail(f"Unexpected end of expression in '{self.text}'.")
        self.pos += 1
        return token

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if kind != "punct" or value != punct:
            raise _fail(f"Expected '{punct}' but found '{value}' in '{self.text}'.")

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "name" and token[1] == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        if not self.tokens:
            raise _fail("The $filter expression is empty.")
        predicate = self.or_expr()
        if self.peek() is not None:
            raise _fail(f"Unexpected '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]  # peek() is not None here
        return predicate

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.keyword("or"):
            right = self.and_expr()
            left = _either(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while self.keyword("and"):
            right = self.unary()
            left = _both(left, right)
        return left

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda r: not inner(r)
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if token is not None and token[0] == "name" and token[1] in _FUNCTIONS:
            return self.function()
        return self.comparison()

    def field(self, name: str) -> dict[str, Any]:
        if "/" in name:
            raise _fail(f"Navigation paths such as '{name}' are not supported; filter on scalar properties.")
        prop = self.props.get(name)
        if prop is None:
            raise _fail(f"Could not find a property named '{name}' on type '{self.schema}'.")
        types = prop.get("type")
        kinds = {types} if isinstance(types, str) else set(types or [])
        if not kinds & _SCALARS:
            raise _fail(f"Property '{name}' is not a scalar and cannot be filtered on.")
        return prop

    def literal(self) -> _Literal:
        kind, raw = self.take()
        if kind == "name" and raw in ("true", "false", "null"):
            return _Literal("keyword", raw)
        if kind in ("string", "number", "guid", "datetime"):
            return _Literal(kind, raw)
        raise _fail(f"Expected a literal but found '{raw}' in '{self.text}'.")

    def function(self) -> Predicate:
        _, name = self.take()
        self.expect("(")
        kind, field_name = self.take()
        if kind != "name":
            raise _fail(f"{name}() needs a property as its first argument.")
        if _prop_kind(self.field(field_name)) != "string":
            raise _fail(f"{name}() works on string properties; '{field_name}' is not one.")
        self.expect(",")
        arg = self.literal()
        self.expect(")")
        if arg.kind != "string":
            raise _fail(f"{name}() needs a string literal as its second argument.")
        test, needle = _FUNCTIONS[name], arg.value

        def predicate(record: Record) -> bool:
            value = record.get(field_name)
            return isinstance(value, str) and bool(test(value, needle))

        return predicate

    def comparison(self) -> Predicate:
        kind, name = self.take()
        if kind != "name":
            raise _fail(f"Expected a property name but found '{name}' in '{self.text}'.")
        prop = self.field(name)
        op_kind, op = self.take()
        if op_kind != "name" or op not in _COMPARE:
            raise _fail(f"Unsupported operator '{op}' in '{self.text}'; use eq, ne, gt, ge, lt or le.")
        return _compare(name, prop, op, self.literal())


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda record: left(record) or right(record)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda record: left(record) and right(record)


def _prop_kind(prop: dict[str, Any]) -> str:
    types = prop.get("type")
    kinds = [types] if isinstance(types, str) else [t for t in (types or []) if t != "null"]
    kind = kinds[0] if kinds else "string"
    if kind == "string" and prop.get("format") == "date-time":
        return "date-time"
    if kind == "string" and prop.get("format") == "uuid":
        return "uuid"
    return "number" if kind == "integer" else kind


def _operands(name: str, kind: str, literal: _Literal) -> tuple[Any, Callable[[Any], Any]]:
    """The literal's comparable value and how to convert a record's value to compare with it."""
    if kind == "date-time":
        if literal.kind not in ("datetime", "string"):
            raise _fail(f"'{literal.raw}' is not a date-time; {name} is one.")
        target = instant_key(literal.value)
        if target is None:
            raise bad_query(
                f"The value '{literal.raw}' is not a valid date-time for {name}.", QUERY_DATETIME_ERROR
            )
        return target, instant_key
    expected = {"boolean": ("keyword",), "number": ("number",), "uuid": ("guid", "string")}.get(kind)
    if expected is not None:
        if literal.kind not in expected or (kind == "boolean" and not isinstance(literal.value, bool)):
            raise _fail(f"'{literal.raw}' is not a {kind}; {name} is one.")
        if kind == "uuid":
            return str(literal.value).lower(), str.lower
        return literal.value, bool if kind == "boolean" else float
    if literal.kind == "number":
        return literal.value, _number_or_none
    if literal.kind == "string":
        return literal.value, str
    if literal.kind in ("datetime", "guid"):
        return literal.raw, str
    raise _fail(f"'{literal.raw}' cannot be compared with the string property {name}.")


def _compare(name: str, prop: dict[str, Any], op: str, literal: _Literal) -> Predicate:
    compare = _COMPARE[op]
    if literal.kind == "keyword" and literal.value is None:
        if op not in ("eq", "ne"):
            return lambda r: False
        want_null = op == "eq"
        return lambda r: (r.get(name) is None) is want_null
    target, convert = _operands(name, _prop_kind(prop), literal)

    def predicate(record: Record) -> bool:
        value = record.get(name)
        if value is None:
            return op == "ne"
        converted = convert(value)
        if converted is None:
            return op == "ne"
        return bool(compare(converted, target))

    return predicate


def _number_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def compile_filter(text: str, item_schema_name: str) -> Predicate:
    """A predicate for ``$filter=text`` on items of ``item_schema_name``; ``ApiError`` 400 if invalid."""
    return _Parser(text, item_schema_name).parse()


_ORDER_ITEM_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?$", re.IGNORECASE)


def compile_orderby(text: str, item_schema_name: str | None = None) -> list[tuple[str, bool]]:
    """``$orderby=A desc, B`` -> ``[("A", True), ("B", False)]`` (field, descending)."""
    result = []
    for part in text.split(","):
        match = _ORDER_ITEM_RE.match(part.strip())
        if not match:
            raise _fail(f"Invalid $orderby clause '{part.strip()}'; use 'Property [asc|desc]'.")
        field, direction = match.group(1), (match.group(2) or "asc").lower()
        if item_schema_name is not None and field not in properties(item_schema_name):
            raise _fail(f"Could not find a property named '{field}' on type '{item_schema_name}'.")
        result.append((field, direction == "desc"))
    return result


def sort_key(field: str, item_schema_name: str) -> Callable[[Record], tuple[bool, Any]]:
    """A sort key that orders date-times as instants and nulls first (for callers that want it)."""
    kind = _prop_kind(properties(item_schema_name).get(field, {}))

    def key(record: Record) -> tuple[bool, Any]:
        value = record.get(field)
        if value is None:
            return (False, 0)
        if kind == "date-time" and isinstance(value, str):
            return (True, instant_key(value) or value)
        return (True, value)

    return key
