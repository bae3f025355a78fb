"""Through the tap: what a stream's reads learned about an endpoint is kept in its state and used by the
next run, and ``strict_completeness`` turns a shortfall into a failed stream. The API is the fake list
endpoint of ``fake_list_server`` (injected as the run's client)."""

from __future__ import annotations

import io
import json
import logging
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from tap_eaccounting.client import EAccountingStream
from tap_eaccounting.reader import IncompleteReadError
from tap_eaccounting.tap import TapEAccounting

from .conftest import catalog_for
from .fake_list_server import IGNORED, REFUSED, FakeListServer, Profile

STREAM = "suppliers"  # /suppliers: Id, ModifiedUtc, no query parameters


def sync(
    server: FakeListServer, tmp_path: Path, state: dict[str, Any] | None = None, **settings: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    config = {
        "client_id": "fake-client",
        "client_secret": "fake-secret",
        "token_store_path": str(tmp_path / "tokens.json"),
        "page_size": 100,
        **settings,
    }
    tap = TapEAccounting(config=config, state=state, catalog=catalog_for(config, [STREAM]))
    stream = tap.streams[STREAM]
    assert isinstance(stream, EAccountingStream)
    stream.runtime.__dict__["client"] = server  # instead of the HTTP client (a cached_property)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    messages = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return records, states[-1]


def test_capabilities_are_kept_in_stream_state_and_start_the_next_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profile = Profile(filter=IGNORED, orderby=REFUSED, max_page_size=50, oversize="clamp-echo")
    first = FakeListServer(400, profile)
    caplog.set_level(logging.INFO)
    records, state = sync(first, tmp_path, start_date=first.median_stamp())
    assert first.survivors(first.median_stamp()) <= {r["Id"] for r in records}
    kept = state["bookmarks"][STREAM]["api_capabilities"]
    assert kept == {
        "/suppliers": {
            "filter": IGNORED,
            "orderby": REFUSED,
            "page_size": 50,
            "learned": kept["/suppliers"]["learned"],
        }
    }
    announced = [r for r in caplog.records if "kept in state" in r.getMessage()]
    assert len(announced) == 1
    assert announced[0].levelno == logging.WARNING
    assert (
        announced[0].getMessage().startswith(f"{STREAM}: /suppliers ignores $filter, rejected $orderby (400)")
    )

    second = FakeListServer(400, profile, seed=2)
    caplog.clear()
    records, state = sync(second, tmp_path, state=state)
    # Straight to a full scan at the size served: no $filter, no $orderby, no 400, nothing learned again.
    assert len(second.requests) == 400 // 50
    assert all("$filter" not in p and "$orderby" not in p and p["$pagesize"] == "50" for p in second.requests)
    assert state["bookmarks"][STREAM]["api_capabilities"] == kept
    assert len([r for r in caplog.records if "kept in state" in r.getMessage()]) == 1


def test_a_well_behaved_endpoint_leaves_no_trace_in_state(tmp_path: Path) -> None:
    server = FakeListServer(250, Profile())
    _, state = sync(server, tmp_path)
    assert "api_capabilities" not in state["bookmarks"][STREAM]
    assert len(server.requests) == 3 + 1  # three pages and the tail


def test_strict_completeness_fails_the_stream_on_a_shortfall(tmp_path: Path) -> None:
    records, _ = sync(FakeListServer(120, Profile(phantoms=3)), tmp_path)
    assert len(records) == 117  # by default: a warning, and the records that were served
    with pytest.raises(IncompleteReadError, match="suppliers: /suppliers served 117 distinct record"):
        sync(FakeListServer(120, Profile(phantoms=3)), tmp_path, strict_completeness=True)
