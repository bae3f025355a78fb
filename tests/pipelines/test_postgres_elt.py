"""`meltano run tap-eaccounting target-postgres` (the postgres-elt job), twice, with state in between.

One module fixture runs the job, changes records in the sandbox (``POST /_admin/churn``) and runs it
again; the tests read what each run left behind: row counts, which rows the second run touched, the
column types of every money, quantity, date-time and nested property (README, "Loader types") and the
exact values in them, Meltano's stored bookmarks and how many requests each run made. The database's
own time zone is not UTC, so a date-time that lands shifted by the session's zone shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import (
    NOT_SELECTED,
    PIPELINES,
    SCHEMA,
    MeltanoProject,
    RunResult,
    count_mismatches,
    expected_counts,
    isolated_env,
    requests_sent,
    tap_env,
)
from postgres_support import Postgres, execute, pg_counts, query

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.schema_gen import DECIMAL_PRECISION, DECIMAL_SCALES, decimal_kind
from tap_eaccounting.streams import BY_NAME, STREAMS

pytestmark = PIPELINES

STATE_ID = "sandbox:tap-eaccounting-to-target-postgres"
PAGE_SIZE = 100
CHURN = {"company": "demo-no", "creates": 4, "updates": 8, "deletes": 0}
COLLECTION_TO_STREAM = {s.path.lstrip("/"): s.name for s in STREAMS}
SCHEMAS = Path(__file__).resolve().parents[2] / "tap_eaccounting" / "schemas"
# Not UTC, and not a whole hour off it: a date-time stored in the session's zone would be caught.
DATABASE_TIME_ZONE = "Asia/Kolkata"
# Altered to timestamptz between the runs (README, "Loader types"): the second run must keep the type
# and load the right instants into it. A full-table stream, so the second run rewrites every row.
TIMESTAMPTZ_COLUMN = ("fiscal_years", "StartDate")


@dataclass
class Snapshot:
    """Per table: key -> (fingerprint of the non-metadata columns, _sdc_batched_at, replication key,
    partition: the parent key's value, whose bookmark the record belongs to)."""

    rows: dict[str, dict[str, tuple[str, Any, Any, Any]]]


@dataclass
class Elt:
    url: str
    expected_before: dict[str, int]
    expected_after: dict[str, int]
    first: RunResult
    second: RunResult
    stats_first: dict[str, Any]
    stats_second: dict[str, Any]
    before: Snapshot
    after: Snapshot
    churn: dict[str, dict[str, list[str]]]
    state: dict[str, Any]


def _columns(url: str, table: str) -> list[str]:
    return [
        r[0]
        for r in query(
            url,
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
            " order by ordinal_position",
            [SCHEMA, table],
        )
    ]


def snapshot(url: str) -> Snapshot:
    result: dict[str, dict[str, tuple[str, Any, Any, Any]]] = {}
    for table in pg_counts(url, SCHEMA):
        stream = BY_NAME.get(table)
        if stream is None:
            continue
        columns = _columns(url, table)
        data = [c for c in columns if not c.startswith("_sdc_")]
        select = ", ".join(f'"{c}"::text' for c in data)
        rk = f'"{stream.replication_key}"' if stream.replication_key else "null"
        part = f'"{stream.parent_key}"::text' if stream.parent else "null"
        # Column and table names come from the catalog, not from input.
        sql = f'select {select}, "_sdc_batched_at", {rk}, {part} from "{SCHEMA}"."{table}"'  # noqa: S608
        rows = query(url, sql)
        key_idx = [data.index(k) for k in stream.keys]
        result[table] = {
            "|".join(str(r[i]) for i in key_idx): (
                hashlib.sha256(json.dumps(r[:-3]).encode()).hexdigest(),
                r[-3],
                r[-2],
                r[-1],
            )
            for r in rows
        }
    return Snapshot(result)


@pytest.fixture(scope="module")
def elt(
    meltano_project: MeltanoProject,
    module_sandbox: SandboxServer,
    postgres: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Elt]:
    tmp = tmp_path_factory.mktemp("elt")
    sandbox = module_sandbox
    with postgres.database() as url:
        database = query(url, "select current_database()")[0][0]
        execute(url, f"alter database {database} set timezone = '{DATABASE_TIME_ZONE}'")
        env = {
            **isolated_env(tmp),
            **tap_env(sandbox, "demo-no", tmp / "tokens.json"),
            "TARGET_POSTGRES_SQLALCHEMY_URL": url,
            # Small pages, so a full read of the big streams takes several requests and a resumed one
            # (from the bookmarks) one.
            "TAP_EACCOUNTING_PAGE_SIZE": str(PAGE_SIZE),
        }
        expected_before = expected_counts(sandbox, "demo-no")
        sandbox.admin("DELETE", "stats")
        first = meltano_project.run("run", "postgres-elt", env=env)
        stats_first = sandbox.admin("GET", "stats")
        before = snapshot(url)
        table, column = TIMESTAMPTZ_COLUMN
        execute(
            url,
            f'alter table {SCHEMA}.{table} alter column "{column}" type timestamptz'
            f" using \"{column}\" at time zone 'UTC'",
        )
        execute(url, f'update {SCHEMA}.{table} set "{column}" = null')  # noqa: S608 (constants)

        churn = sandbox.admin("POST", "churn", CHURN)
        expected_after = expected_counts(sandbox, "demo-no")
        sandbox.admin("DELETE", "stats")
        second = meltano_project.run("run", "postgres-elt", env=env)
        stats_second = sandbox.admin("GET", "stats")
        after = snapshot(url)
        state = json.loads(
            meltano_project.run("state", "get", STATE_ID, env={**env, "MELTANO_ENVIRONMENT": "sandbox"})
            .output.strip()
            .splitlines()[-1]
        )
        yield Elt(
            url,
            expected_before,
            expected_after,
            first,
            second,
            stats_first,
            stats_second,
            before,
            after,
            churn,
            state,
        )


def _actual_counts(elt: Elt, snap: Snapshot) -> dict[str, int]:
    return {t: len(rows) for t, rows in snap.rows.items()}


def check_row_counts_per_stream_equal_the_sandbox(elt: Elt) -> None:
    counts = pg_counts(elt.url, SCHEMA)
    expected = dict(elt.expected_after)
    expected["account_balances"] = elt.first.record_counts()["account_balances"]
    assert set(expected) == {s.name for s in STREAMS} - NOT_SELECTED
    assert count_mismatches(expected, counts) == {}
    # ... and the first run alone matched the sandbox before the changes.
    first = _actual_counts(elt, elt.before)
    assert count_mismatches({k: v for k, v in elt.expected_before.items() if v}, first) == {}


def check_second_run_upserts_only_the_changed_records(elt: Elt) -> None:
    changed = {COLLECTION_TO_STREAM[c]: set(d["created"]) | set(d["updated"]) for c, d in elt.churn.items()}
    created = {COLLECTION_TO_STREAM[c]: set(d["created"]) for c, d in elt.churn.items()}
    assert sum(map(len, changed.values())) >= 8
    report = []
    for stream in STREAMS:
        if stream.replication_key is None or stream.name not in elt.after.rows:
            continue  # full-table streams are re-read (and rewritten unchanged) by design
        old, new = elt.before.rows.get(stream.name, {}), elt.after.rows[stream.name]
        touched = {k for k, row in new.items() if k not in old or old[k][1] != row[1]}
        content = {k for k, row in new.items() if k not in old or old[k][0] != row[0]}
        want = changed.get(stream.name, set())
        report.append(f"{stream.name}: touched {len(touched)}, changed {len(want)}, content {len(content)}")
        # Every change landed: new rows added, changed rows rewritten with the new values ...
        assert want <= content, (stream.name, want - content)
        assert created.get(stream.name, set()) <= set(new) - set(old)
        # ... no other row changed content (except rows the changes derive from: ledger items) ...
        if stream.name != "customer_ledger_items":
            assert content <= want, (stream.name, content - want)
        # ... and the only other rows rewritten are the inclusive bookmark's boundary: records whose
        # replication key equals the first run's bookmark of their partition (the tap reads `>=`).
        bookmarks: dict[Any, Any] = {}
        for row in old.values():
            if row[2] is not None and (row[3] not in bookmarks or row[2] > bookmarks[row[3]]):
                bookmarks[row[3]] = row[2]
        extra = {k for k in touched - content if new[k][2] != bookmarks.get(new[k][3])}
        assert not extra, (stream.name, sorted(extra)[:5])
    print("\n".join(report))
    touched_total = sum(
        1
        for name, new in elt.after.rows.items()
        if BY_NAME[name].replication_key
        for k, row in new.items()
        if k not in elt.before.rows.get(name, {}) or elt.before.rows[name][k][1] != row[1]
    )
    print(f"second run touched {touched_total} rows of incremental streams for {CHURN}")


def expected_column(name: str, prop: dict[str, Any]) -> tuple[str, int | None, int | None] | None:
    """(data_type, numeric_precision, numeric_scale) a property must land as; ``None``: not checked
    here (strings, booleans, integers)."""
    if any(branch.get("format") == "x-singer.decimal" for branch in prop.get("anyOf", [])):
        return ("numeric", DECIMAL_PRECISION, DECIMAL_SCALES[decimal_kind(name)])
    types = prop.get("type", [])
    if "array" in types or "object" in types:
        return ("jsonb", None, None)  # one JSON value, not jsonb[]
    if prop.get("format") == "date-time":
        return ("timestamp without time zone", None, None)  # target-postgres 0.8.1 has no other
    return None


def check_loader_types_of_every_stream(elt: Elt) -> dict[str, int]:
    columns: dict[tuple[str, str], tuple[str, int | None, int | None]] = {
        (r[0], r[1]): (r[2], r[3], r[4])
        for r in query(
            elt.url,
            "select table_name, column_name, data_type, numeric_precision, numeric_scale"
            " from information_schema.columns where table_schema = %s",
            [SCHEMA],
        )
    }
    seen: dict[str, int] = {}
    for table in elt.after.rows:
        properties = json.loads((SCHEMAS / f"{table}.json").read_text())["properties"]
        for name, prop in properties.items():
            want = expected_column(name, prop)
            if (table, name) == TIMESTAMPTZ_COLUMN:
                want = ("timestamp with time zone", None, None)
            if want is None:
                continue
            assert columns.get((table, name)) == want, (table, name, columns.get((table, name)))
            label = f"numeric({want[1]},{want[2]})" if want[0] == "numeric" else want[0]
            seen[label] = seen.get(label, 0) + 1
    print(f"target-postgres columns checked in {len(elt.after.rows)} tables, by type: {seen}")
    return seen


def utc_wall_clock(value: str | None) -> datetime | None:
    """A date-time as the database should hold it: UTC, without a zone (a date alone: midnight UTC)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def exact(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def check_loader_types_and_exact_values(elt: Elt, module_sandbox: SandboxServer) -> None:
    seen = check_loader_types_of_every_stream(elt)
    assert {f"numeric(38,{s})" for s in DECIMAL_SCALES.values()} <= set(seen)
    assert seen["jsonb"] >= 20
    assert seen["timestamp without time zone"] >= 50
    invoices = module_sandbox.admin(
        "GET", "objects", params={"company": "demo-no", "collection": "customerinvoices"}
    )
    landed = {
        r[0]: r[1:]
        for r in query(
            elt.url,
            'select "Id", "TotalAmount", "CurrencyRate", "ModifiedUtc", "InvoiceDate"'
            " from eaccounting.customer_invoices",
        )
    }
    # Money to the cent and date-times to the microsecond, as the sandbox holds them: UTC wall-clock
    # whatever the database's time zone (the meltano.yml `PGTZ: UTC` of target-postgres).
    want = {
        i["Id"]: (
            exact(i["TotalAmount"]),
            exact(i["CurrencyRate"]),
            utc_wall_clock(i["ModifiedUtc"]),
            utc_wall_clock(i["InvoiceDate"]),
        )
        for i in invoices
    }
    assert landed == want
    assert sum(v[0] for v in landed.values()) == sum(Decimal(repr(i["TotalAmount"])) for i in invoices)
    table, column = TIMESTAMPTZ_COLUMN
    years = module_sandbox.admin("GET", "objects", params={"company": "demo-no", "collection": "fiscalyears"})
    assert dict(
        query(elt.url, f'select "Id", "{column}" at time zone \'UTC\' from {SCHEMA}.{table}')  # noqa: S608
    ) == {y["Id"]: utc_wall_clock(y[column]) for y in years}
    rows = query(
        elt.url,
        "select count(*), count(distinct r->>'ArticleNumber'), sum((r->>'Quantity')::numeric),"
        " sum((r->>'UnitPrice')::numeric)"
        ' from eaccounting.customer_invoices i, jsonb_array_elements(i."Rows") r',
    )[0]
    assert rows[0] == sum(len(i["Rows"]) for i in invoices)
    assert rows[1] >= 1
    assert rows[2:] == (
        sum(Decimal(repr(r.get("Quantity") or 0)) for i in invoices for r in i["Rows"]),
        sum(Decimal(repr(r.get("UnitPrice") or 0)) for i in invoices for r in i["Rows"]),
    )


def check_second_run_resumes_from_meltanos_bookmarks(elt: Elt) -> None:
    bookmarks = elt.state["singer_state"]["bookmarks"]
    assert bookmarks["customer_invoices"]["replication_key"] == "ModifiedUtc"
    assert bookmarks["customer_invoices"]["replication_key_value"]
    emitted_first, emitted_second = elt.first.record_counts(), elt.second.record_counts()
    incremental = [s for s in STREAMS if s.replication_key and s.name in emitted_first]
    first_total = sum(emitted_first[s.name] for s in incremental)
    second_total = sum(emitted_second.get(s.name, 0) for s in incremental)
    sent_first, sent_second = requests_sent(elt.stats_first), requests_sent(elt.stats_second)
    print(
        f"incremental streams: {first_total} then {second_total} records; GET requests {sent_first} then "
        f"{sent_second}; runs {elt.first.seconds:.1f}s then {elt.second.seconds:.1f}s\n"
        f"second run per stream: { {s.name: emitted_second.get(s.name, 0) for s in incremental} }"
    )
    assert first_total > 2000
    assert second_total < first_total / 10
    # The big incremental streams took several pages at first; resumed, they take one or two.
    big = [s for s in incremental if emitted_first[s.name] > 2 * PAGE_SIZE and s.parent is None]
    assert {s.name for s in big} >= {"customer_invoices", "customer_ledger_items"}
    for stream in big:
        key = f"GET /v2{stream.path}"
        first = sum(elt.stats_first["endpoints"][key].values())
        second = sum(elt.stats_second["endpoints"].get(key, {}).values())
        assert first >= emitted_first[stream.name] // PAGE_SIZE
        assert second <= 2, (stream.name, first, second)
    assert sent_second < sent_first


def test_postgres_elt_counts_upserts_jsonb_and_state(elt: Elt, module_sandbox: SandboxServer) -> None:
    # One scenario, one test: pytest-xdist 3.8 ignores `xdist_group` under pytest 9 (it sets
    # `item._nodeid`, which pytest 9 no longer reads), so separate tests of this module could run on
    # both workers and each would pay for the whole scenario.
    check_row_counts_per_stream_equal_the_sandbox(elt)
    check_second_run_upserts_only_the_changed_records(elt)
    check_loader_types_and_exact_values(elt, module_sandbox)
    check_second_run_resumes_from_meltanos_bookmarks(elt)
