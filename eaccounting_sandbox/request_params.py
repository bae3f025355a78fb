"""Path and query parameters of the reads, parsed the way the API does: a bad value is an error
(400, or 404 for an id that cannot exist), never silently ignored."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from eaccounting_sandbox.demo_time import parse_day
from eaccounting_sandbox.error_responses import QUERY_DATETIME_ERROR, bad_query, not_found


def bool_param(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise bad_query(f"The value '{raw}' is not valid for query parameter {name} (expected true/false).")


def day_param(raw: str | None, name: str, default: date) -> date:
    if raw is None or raw == "":
        return default
    day = parse_day(raw)
    if day is None:
        raise bad_query(
            f"The value '{raw}' is not a valid date for {name} (yyyy-MM-dd).", QUERY_DATETIME_ERROR
        )
    return day


def uuid_param(raw: str | None, what: str) -> str:
    """The id in canonical form; an id that is not a uuid names nothing, so it is a 404."""
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        raise not_found(f"{what} '{raw}' was not found.") from None
