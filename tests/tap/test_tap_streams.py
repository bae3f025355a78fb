"""The stream table agrees with the spec; the generated schemas are deterministic and committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from eaccounting_api import spec
from tap_eaccounting.schema_gen import generate_stream_schemas
from tap_eaccounting.streams import BY_NAME, ENDPOINTS, SINGLE_OBJECT_STREAMS, STREAMS, scope_for

ROOT = Path(__file__).resolve().parents[2]


def test_one_snake_case_stream_per_list_endpoint() -> None:
    assert len(STREAMS) == len(spec.list_endpoints()) == 58
    assert len({s.path for s in STREAMS}) == 58
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", s.name) for s in STREAMS)


def test_replication_key_follows_the_item_timestamps() -> None:
    for stream in STREAMS:
        stamps = ENDPOINTS[stream.path].timestamp_fields
        expected = next((k for k in ("ModifiedUtc", "ChangedUtc", "CreatedUtc") if k in stamps), None)
        assert stream.replication_key == expected, stream.name


def test_keys_are_id_or_a_natural_key_of_the_item() -> None:
    for stream in STREAMS:
        props = spec.schemas()[stream.item_schema]["properties"]
        if "Id" in props:
            assert stream.keys == ("Id",), stream.name
        else:
            assert all(k in props or k == stream.parent_key for k in stream.keys), stream.name


def test_parents_fill_the_path_parameter_and_scopes_match() -> None:
    for stream in STREAMS:
        has_param = bool(ENDPOINTS[stream.path].path_params)
        assert has_param == bool(stream.parent_key), stream.name
        if stream.parent:
            assert BY_NAME[stream.parent].parent is None
            assert "Id" in spec.schemas()[BY_NAME[stream.parent].item_schema]["properties"]
        assert scope_for(stream).startswith("ea:" + stream.area)


def test_generated_schemas_are_deterministic_and_committed() -> None:
    first = generate_stream_schemas(spec.load())
    assert first == generate_stream_schemas(json.loads(json.dumps(spec.load())))
    assert len(first) == 58 + len(SINGLE_OBJECT_STREAMS)
    for rel, text in first.items():
        assert (ROOT / rel).read_text("utf-8") == text, f"{rel} is stale: run scripts/generate_from_spec.py"
        schema = json.loads(text)
        name = Path(rel).stem
        single = {s.name: s.keys for s in SINGLE_OBJECT_STREAMS}
        keys = BY_NAME[name].keys if name in BY_NAME else single[name]
        assert set(keys) <= set(schema["properties"])


def test_incremental_children_name_a_flat_sibling_with_the_same_items() -> None:
    # The no-change probe asks the sibling's list for any row of any partition (client.probe_sibling).
    for stream in STREAMS:
        if not (stream.parent and stream.replication_key):
            assert stream.sibling is None, stream.name
            continue
        sibling = BY_NAME[stream.sibling or ""]
        assert sibling.parent is None, stream.name
        assert not ENDPOINTS[sibling.path].path_params, stream.name
        assert sibling.item_schema == stream.item_schema, stream.name
        assert sibling.replication_key == stream.replication_key, stream.name
        assert sibling.area == stream.area, stream.name
    with_sibling = {s.name for s in STREAMS if s.sibling}
    assert with_sibling == {"accounts", "vouchers", "sales_price_list_prices_by_list"}
