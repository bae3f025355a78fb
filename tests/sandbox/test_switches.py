"""The switch machinery without HTTP: validation, profiles, per-endpoint merging, aliases, date shapes."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from eaccounting_api import spec
from eaccounting_sandbox.list_pages import in_requested_order, server_time_utc
from eaccounting_sandbox.response_drift import NESTED_EXTRA, TOP_EXTRA, reshape
from eaccounting_sandbox.server import SandboxServer
from eaccounting_sandbox.switches import (
    BEHAVIOUR_SWITCHES,
    DEFAULT_COMPANY,
    PROFILES,
    RUNTIME_SWITCHES,
    SandboxConfig,
    Switches,
    check_switch,
    key_matches,
)

DEFAULTS = asdict(Switches())


def test_defaults_are_todays_behaviour_except_the_documented_scope_code() -> None:
    assert DEFAULTS == {
        "shuffle_unordered": False,
        "filter_mode": "honoured",
        "orderby_mode": "honoured",
        "max_page_size": 1000,
        "page_size_enforcement": "clamp_report",
        "page_size_error_wording": "pagesize",
        "empty_total_pages": 0,
        "past_last_page": "empty",
        "extra_properties": "none",
        "date_shapes": "spec",
        "missing_scope_code": 4006,
        "stamp_lag_seconds": 0,
    }
    assert SandboxConfig().profile == "strict_odata"
    assert PROFILES["strict_odata"].switches == {}


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("shuffle_unordered", "yes"),
        ("filter_mode", "honored"),
        ("orderby_mode", "sometimes"),
        ("max_page_size", 0),
        ("max_page_size", "500"),
        ("max_page_size", True),
        ("page_size_enforcement", "clamp"),
        ("page_size_error_wording", "polite"),
        ("empty_total_pages", 2),
        ("past_last_page", "wrap"),
        ("extra_properties", "all"),
        ("date_shapes", "iso"),
        ("missing_scope_code", 4005),
        ("missing_scope_code", "4006"),
        ("stamp_lag_seconds", 86_401),
        ("stamp_lag_seconds", -86_401),
        ("stamp_lag_seconds", 1.5),
    ],
)
def test_each_switch_rejects_values_outside_its_choices(name: str, bad: object) -> None:
    with pytest.raises(ValueError, match=name):
        check_switch(name, bad)
    config = SandboxConfig()
    with pytest.raises(ValueError, match=name):
        config.update({name: bad})
    assert asdict(config.for_endpoint("/customers")) == DEFAULTS
    with pytest.raises(ValueError, match=name):
        SandboxConfig.from_kwargs(**{name: bad})


def test_every_behaviour_switch_is_a_runtime_switch_and_may_differ_per_endpoint() -> None:
    assert set(BEHAVIOUR_SWITCHES) == {f.name for f in fields(Switches)}
    assert set(BEHAVIOUR_SWITCHES) <= set(RUNTIME_SWITCHES)
    config = SandboxConfig()
    config.update(
        {"endpoint_switches": {"/customers": {name: DEFAULTS[name] for name in BEHAVIOUR_SWITCHES}}}
    )


@pytest.mark.parametrize(
    "value",
    [
        ["/customers"],
        {"customers": {"filter_mode": "ignored"}},
        {"/customers": {"filter_mode": "nope"}},
        {"/customers": {"seed": 2}},
        {"/customers": "ignored"},
    ],
)
def test_endpoint_switches_are_checked(value: object) -> None:
    with pytest.raises(ValueError, match="switch"):
        SandboxConfig().update({"endpoint_switches": value})


def test_per_endpoint_overrides_merge_over_the_globals_longest_key_last() -> None:
    config = SandboxConfig.from_kwargs(
        filter_mode="refused",
        endpoint_switches={
            "/customerinvoices/{invoiceId}": {"date_shapes": "no_z"},
            "/customerinvoices": {"filter_mode": "ignored", "date_shapes": "offset"},
        },
    )
    assert config.for_endpoint("/customers").filter_mode == "refused"
    assert config.for_endpoint("/customerinvoicedrafts").filter_mode == "refused"
    assert config.for_endpoint("/customerinvoices").filter_mode == "ignored"
    assert config.for_endpoint("/customerinvoices").date_shapes == "offset"
    assert config.for_endpoint("/customerinvoices/{invoiceId}").date_shapes == "no_z"
    assert config.for_endpoint("/customerinvoices/{invoiceId}/payments").date_shapes == "no_z"  # a prefix
    assert config.for_endpoint("/customerinvoices/{invoiceId}/payments").filter_mode == "ignored"
    assert key_matches("/accounttypes", "/accountTypes")
    assert not key_matches("/customerinvoices", "/customerinvoicedrafts")


@pytest.mark.parametrize("name", list(PROFILES))
def test_each_profile_sets_its_switches_over_the_defaults(name: str) -> None:
    chosen = PROFILES[name]
    assert chosen.about
    expected = {**DEFAULTS, **chosen.switches}
    built = SandboxConfig.from_kwargs(profile=name)
    assert asdict(built.for_endpoint("/customers")) == expected
    assert built.faults == chosen.faults
    assert built.profile == name
    # At runtime a profile first puts every switch back: nothing of the previous profile survives.
    running = SandboxConfig.from_kwargs(profile="legacy_iis", extra_properties="both")
    running.update({"endpoint_switches": {"/customers": {"filter_mode": "refused"}}})
    running.update({"profile": name})
    assert asdict(running.for_endpoint("/customers")) == expected
    assert running.endpoint_switches == {}


def test_the_profiles_the_issue_names_exist() -> None:
    assert {
        "strict_odata",
        "filter_ignored",
        "filter_refused",
        "orderby_ignored",
        "orderby_refused",
        "page_cap_500_echo",
        "page_cap_100_reject_odata",
        "meta_lies",
        "legacy_iis",
        "drifted_schema",
        "scope_4011",
        "flaky_bodies",
    } <= set(PROFILES)
    assert PROFILES["legacy_iis"].switches == {
        "filter_mode": "ignored",
        "orderby_mode": "refused",
        "max_page_size": 500,
        "page_size_enforcement": "clamp_echo",
        "past_last_page": "error",
    }
    assert PROFILES["flaky_bodies"].faults["truncate_rate"] == 0.2


def test_explicit_switches_and_faults_win_over_the_profile() -> None:
    config = SandboxConfig.from_kwargs(
        profile="flaky_bodies", date_shapes="no_z", faults={"truncate_rate": 0.5, "latency_ms": 1}
    )
    assert config.date_shapes == "no_z"
    assert config.faults == {"truncate_rate": 0.5, "seed": 1, "latency_ms": 1}
    config.update({"profile": "legacy_iis", "max_page_size": 50})
    assert (config.max_page_size, config.page_size_enforcement) == (50, "clamp_echo")
    with pytest.raises(ValueError, match="unknown profile"):
        config.update({"profile": "nope"})
    with pytest.raises(TypeError, match="nope"):
        SandboxConfig.from_kwargs(nope=1)


def test_reject_oversize_page_is_an_alias_of_page_size_enforcement() -> None:
    config = SandboxConfig.from_kwargs(reject_oversize_page=True)
    assert config.page_size_enforcement == "reject"
    assert config.as_dict()["reject_oversize_page"] is True
    config.update({"reject_oversize_page": False})
    assert config.page_size_enforcement == "clamp_report"
    config.update({"page_size_enforcement": "clamp_echo"})
    config.update({"reject_oversize_page": False})  # "off" leaves another enforcement alone
    assert config.page_size_enforcement == "clamp_echo"
    assert config.as_dict()["reject_oversize_page"] is False
    with pytest.raises(ValueError, match="reject_oversize_page"):
        config.update({"reject_oversize_page": "yes"})


def test_the_extra_property_names_are_declared_by_no_schema() -> None:
    declared = {name for schema in spec.schemas().values() for name in schema.get("properties", {})}
    assert not (set(TOP_EXTRA) | set(NESTED_EXTRA)) & declared
    assert json.loads(json.dumps({**TOP_EXTRA, **NESTED_EXTRA})) == {**TOP_EXTRA, **NESTED_EXTRA}


@pytest.mark.parametrize(
    ("shape", "stored", "expected"),
    [
        ("spec", "2024-01-11T08:00:00.0000000Z", "2024-01-11T08:00:00.0000000Z"),
        ("date_only", "2024-01-11T08:00:00.0000000Z", "2024-01-11"),
        ("date_only", "2024-01-11T00:00:00Z", "2024-01-11"),
        ("date_only", "2024-01-11", "2024-01-11"),
        ("offset", "2024-01-11T08:00:00.0000000Z", "2024-01-11T09:00:00+01:00"),
        ("offset", "2024-01-11T23:30:00.1234560Z", "2024-01-12T00:30:00.1234560+01:00"),
        ("offset", "2024-01-11T00:00:00Z", "2024-01-11T00:00:00+01:00"),
        ("offset", "2024-01-11", "2024-01-11T00:00:00+01:00"),
        ("no_z", "2024-01-11T08:00:00.0000000Z", "2024-01-11T08:00:00"),
        ("no_z", "2024-01-11T08:00:00.1234560Z", "2024-01-11T08:00:00.1234560"),
        ("no_z", "2024-01-11", "2024-01-11T00:00:00"),
        ("seven_digits", "2024-01-11T00:00:00Z", "2024-01-11T00:00:00.0000000Z"),
        ("seven_digits", "2024-01-11", "2024-01-11T00:00:00.0000000Z"),
        ("offset", "not a date", "not a date"),
    ],
)
def test_date_shapes(shape: str, stored: str, expected: str) -> None:
    assert reshape(stored, shape) == expected


def test_mixed_date_shapes_use_every_shape_and_are_deterministic() -> None:
    stored = [f"2024-01-{day:02d}T08:00:00.0000000Z" for day in range(1, 29)]
    mixed = [reshape(value, "mixed") for value in stored]
    assert mixed == [reshape(value, "mixed") for value in stored]
    shapes = {
        shape
        for value, got in zip(stored, mixed, strict=True)
        for shape in ("spec", "date_only", "offset", "no_z", "seven_digits")
        if reshape(value, shape) == got
    }
    assert shapes == {"spec", "date_only", "offset", "no_z", "seven_digits"}


def test_ignored_orderby_knows_when_a_permutation_is_the_order_asked() -> None:
    endpoint = next(e for e in spec.list_endpoints() if e.path == "/customers")
    records = [{"CustomerNumber": "1", "Name": "b"}, {"CustomerNumber": "2", "Name": "a"}]
    assert in_requested_order(records, "CustomerNumber", endpoint)
    assert not in_requested_order(records, "CustomerNumber desc", endpoint)
    assert in_requested_order(records, "Name desc", endpoint)
    assert not in_requested_order(records, "NoSuchField", endpoint)


def test_the_readme_documents_every_switch_and_profile() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Switches and profiles") : readme.index("### Admin API")]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| `")}
    assert {f"`{name}`" for name in BEHAVIOUR_SWITCHES} <= rows
    assert {f"`{name}`" for name in PROFILES} <= rows
    for name, chosen in PROFILES.items():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
        for switch, value in chosen.switches.items():
            assert f"`{switch}`" in row, (name, switch)
            assert str(value).lower() in row, (name, switch)


def test_stamp_lag_stamps_churned_rows_before_an_earlier_server_time_or_ahead(
    fresh_sandbox: SandboxServer,
) -> None:
    """Lagging, a churned row can show a stamp older than a ``ServerTimeUtc`` served before it was
    written; leading (negative), newer than any served after it. Per endpoint, by collection path."""
    switches = {
        "stamp_lag_seconds": -600,
        "endpoint_switches": {"/customerinvoices": {"stamp_lag_seconds": 600}},
    }
    fresh_sandbox.admin("POST", "config", switches)
    before = server_time_utc()
    touched = fresh_sandbox.admin(
        "POST",
        "churn",
        {"company": DEFAULT_COMPANY, "updates": 40, "collections": ["customerinvoices", "customers"]},
    )
    after = server_time_utc()
    company = fresh_sandbox.sandbox.companies[DEFAULT_COMPANY]

    def stamps(collection: str) -> list[str]:
        records = [company.collection(collection).get(i) for i in touched[collection]["updated"]]
        return [str(r.get("ModifiedUtc") or r.get("ChangedUtc")) for r in records if r is not None]

    lagging, leading = stamps("customerinvoices"), stamps("customers")
    assert lagging
    assert leading
    assert all(s < after for s in lagging)
    assert any(s < before for s in lagging)
    assert all(s > before for s in leading)
    assert any(s > after for s in leading)
    fresh_sandbox.admin("POST", "config", {"profile": "strict_odata"})
    again = fresh_sandbox.admin("POST", "churn", {"company": DEFAULT_COMPANY, "updates": 5})
    latest = server_time_utc()
    for collection, ids in again.items():
        for record_id in ids["updated"]:
            record = company.collection(collection).get(record_id)
            assert record is not None
            assert after < str(record.get("ModifiedUtc") or record.get("ChangedUtc")) <= latest
