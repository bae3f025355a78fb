"""Where a schema's date-times are, and their rewriting to RFC 3339 UTC: found in a decoded struct and
spliced into a record's JSON bytes, or fixed in a decoded dict (``record_shape`` decides which).

The rewriting is ``timeparse.to_rfc3339_utc`` (a date alone is midnight UTC, no zone means UTC, an
offset is converted, fraction digits stay as sent); a value that is no date at all becomes ``null``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import msgspec

from eaccounting_api import timeparse

LEAF = "date-time"  # a tree node that is a date-time value (or an array of them)
# Where the date-times of a schema are: property -> LEAF, or -> the tree of an object (or array of
# objects) that holds some.
Tree = dict[str, Any]
# A tree compiled for a decoded struct (see ``compile_level``).
Level = tuple[Callable[[Any], tuple[Any, ...]], list[tuple[str, Any]]]
Fix = tuple[str, str, str | None]  # property name, value as sent, value to emit

_is_utc = timeparse.RFC3339_UTC_RE.match


def date_time_tree(schema: dict[str, Any]) -> Tree:
    tree: Tree = {}
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        node = sub["items"] if isinstance(sub.get("items"), dict) else sub
        if node.get("format") == "date-time":
            tree[name] = LEAF
        elif inner := date_time_tree(node):
            tree[name] = inner
    return tree


def node_type(sub: Any, name: str) -> Any:
    """The msgspec type of a tree node: a date-time as any JSON value (looked at in Python), an object
    holding date-times as a struct of just those; each may also be an array of what it describes."""
    if sub == LEAF:
        return Any
    fields = [
        (f"f{i}", node_type(child_sub, f"{name}_{i}"), msgspec.field(default=None, name=child))
        for i, (child, child_sub) in enumerate(sub.items())
    ]
    struct: Any = msgspec.defstruct(name, fields)
    return struct | list[struct] | None


def compile_level(tree: Tree, attrs: list[str]) -> Level:
    """A tree as ``collect`` walks a decoded struct: one getter for the level's attributes (``attrs``
    at the top, the ``f<index>`` that ``node_type`` gives below), and each node's name and sub-level
    (``None``: a leaf)."""
    getter = operator.attrgetter(*attrs) if len(attrs) > 1 else (lambda obj: (getattr(obj, attrs[0]),))
    nodes = [
        (name, None if sub == LEAF else compile_level(sub, [f"f{i}" for i in range(len(sub))]))
        for name, sub in tree.items()
    ]
    return getter, nodes


@lru_cache(maxsize=4096)
def utc(value: str) -> str | None:
    """``value`` as RFC 3339 UTC, ``None`` when it is no date (the same dates recur across records)."""
    try:
        return timeparse.to_rfc3339_utc(value)
    except ValueError:
        return None


def _fix(name: str, value: str, path: str, fixes: list[Fix], not_dates: list[tuple[str, str]]) -> None:
    new = utc(value)
    if new is None:
        not_dates.append((path, value))
    fixes.append((name, value, new))


def collect(obj: Any, level: Level, prefix: str, fixes: list[Fix], not_dates: list[tuple[str, str]]) -> None:
    """The date-time values under a decoded struct that need rewriting."""
    getter, nodes = level
    for (name, sub), value in zip(nodes, getter(obj), strict=True):
        if value is None:
            continue
        if sub is None:
            if value.__class__ is str:
                if not _is_utc(value):
                    _fix(name, value, prefix + name, fixes, not_dates)
            elif value.__class__ is list:
                for item in value:
                    if item.__class__ is str and not _is_utc(item):
                        _fix(name, item, prefix + name, fixes, not_dates)
        elif value.__class__ is list:
            for item in value:
                if item is not None:
                    collect(item, sub, f"{prefix}{name}.", fixes, not_dates)
        else:
            collect(value, sub, f"{prefix}{name}.", fixes, not_dates)


def splice(raw: bytes, fixes: list[Fix]) -> bytes | None:
    """``raw`` with each ``"<name>":"<old>"`` replaced, when each occurs exactly as often as it was
    found decoded; ``None`` when not (whitespace, an escape, a date-time inside an array of strings, or
    the same text under a property that is no date-time). Inside a JSON string every quote is escaped,
    so the pattern cannot match there."""
    counts: dict[Fix, int] = {}
    for fix in fixes:
        counts[fix] = counts.get(fix, 0) + 1
    for fix, count in counts.items():
        needle, replacement = _needle(*fix)
        if count == 1:  # the common case: one scan to it, one past it (half the cost of count + replace)
            at = raw.find(needle)
            if at < 0 or raw.find(needle, at + len(needle)) >= 0:
                return None
            raw = raw[:at] + replacement + raw[at + len(needle) :]
        elif raw.count(needle) == count:
            raw = raw.replace(needle, replacement)
        else:
            return None
    return raw


@lru_cache(maxsize=4096)
def _needle(name: str, old: str, new: str | None) -> tuple[bytes, bytes]:
    """What ``splice`` looks for and puts in its place (the same dates recur across records)."""
    replacement = f'"{name}":"{new}"' if new is not None else f'"{name}":null'
    return f'"{name}":"{old}"'.encode(), replacement.encode()


def fix_dict(node: Any, tree: Tree, prefix: str, not_dates: list[tuple[str, str]]) -> bool:
    """Rewrite the date-time values of a decoded record in place; whether any changed."""
    if isinstance(node, list):
        return any([fix_dict(item, tree, prefix, not_dates) for item in node])
    if not isinstance(node, dict):
        return False
    changed = False
    for name, sub in tree.items():
        value = node.get(name)
        if value is None:
            continue
        path = prefix + name
        if sub != LEAF:
            changed |= fix_dict(value, sub, f"{path}.", not_dates)
            continue
        values = value if isinstance(value, list) else [value]
        fixed = [_fixed(v, path, not_dates) for v in values]
        if fixed != values:
            node[name] = fixed if isinstance(value, list) else fixed[0]
            changed = True
    return changed


def _fixed(value: Any, path: str, not_dates: list[tuple[str, str]]) -> Any:
    if not isinstance(value, str) or timeparse.is_rfc3339_utc(value):
        return value
    new = utc(value)
    if new is None:
        not_dates.append((path, value))
    return new
