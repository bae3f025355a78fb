"""The profile matrix: the tap over a sandbox profile (or one switch), with churn, checked against the
truth the sandbox holds. Shared by ``test_profile_matrix.py`` and ``bench/profile_matrix_report.py``.

One case = a fresh company on a sandbox whose switches the case sets, then two tap runs over
``STREAMS`` while churn creates, modifies and deletes invoices and vouchers between page requests
(``CHURN``; ``HEAVY_CHURN`` for the cases of ``heavy_churn_cases``):

1. a first run (no state): every stream read in full;
2. after a burst of modifications, an incremental run from the first run's state.

Each run is checked (``check``):

* every record that exists when the run starts and when it ends is emitted (by key); for the second
  run, every such record whose replication key at the start was at or after its partition's bookmark;
* the API requests the sandbox counted per endpoint stay within ``reader.request_bound`` of the most
  rows the endpoint could have counted (rows before the run, after it, and every row churn may have
  created meanwhile), summed over partitions, plus ``reader.PROBE_BOUND`` where a sibling probe reads;
* the run exits 0, unless the case is strict and a read came up short: then 3, the error naming counts.

The truth ("oracle") is read straight from ``/v2`` with every switch at its default and no fault set.
"""

from __future__ import annotations

import io
import json
import math
import uuid
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from eaccounting_api import paging
from eaccounting_sandbox.server import SandboxServer
from eaccounting_sandbox.switches import (
    BEHAVIOUR_SWITCHES,
    DEFAULT_PROFILE,
    MAX_PAGE_SIZE,
    PROFILES,
    Switches,
    check_switch,
)
from tap_eaccounting.page_walk import SETTLE_MARGIN
from tap_eaccounting.reader import PROBE_BOUND, request_bound
from tap_eaccounting.run_summary import RunSummary
from tap_eaccounting.streams import BY_NAME, StreamDef
from tap_eaccounting.tap import TapEAccounting

# Incremental and churned; per parent (a partition per fiscal year), churned, several pages each; full
# table, per parent (fan-out over bank accounts); large (21 pages of 50), churned.
STREAMS = ("customer_invoices", "vouchers", "bank_transactions_matched", "all_vouchers")
SCOPES = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]
CHURNED = ["customerinvoices", "vouchers"]
CHURN = {"creates": 2, "updates": 2, "deletes": 3, "every": 2, "collections": CHURNED}
CHURN_PATHS = ["/v2/customerinvoices", "/v2/vouchers"]
# Where $filter is unusable, also churn that modifies ten times as many rows before every page request:
# a row the first pass missed is then often modified while the re-read runs, before the re-read reaches
# it (the gap ``reader``'s settle rounds close), so a read without them fails the matrix.
HEAVY_CHURN = {**CHURN, "updates": 20, "every": 1}
HEAVY_PROFILES = ("filter_ignored", "legacy_iis")
# The stamp lag the matrix plays (``stamp_lag_seconds``, either way): a row churned while a pass runs
# may be stamped before the pass began. It must stay within the tap's ``SETTLE_MARGIN``; under heavy
# churn (``heavy_churn_cases``) with filter_ignored, a settle round without the margin misses rows;
# with orderby_ignored (ranges of the replication key, ``list_ranges``), an open range without it does
# (6 of 20 such cases lost a row; at -120, 3 of 20; orderby_refused keeps one order: none of 10).
STAMP_LAG = 120
assert SETTLE_MARGIN.total_seconds() >= STAMP_LAG
BURST = 60  # modifications per churned collection between the two runs
PAGE_SIZE = 50
MAX_CONCURRENCY = 4
# A sibling probe (``/vouchers`` for ``vouchers``) shares its endpoint with ``all_vouchers``.
PROBED = {"vouchers": "all_vouchers"}

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Case:
    name: str
    profile: str = DEFAULT_PROFILE
    switches: dict[str, Any] = field(default_factory=dict)
    strict: bool = False
    churn: dict[str, Any] = field(default_factory=lambda: dict(CHURN))  # the churn fault, as CHURN

    @property
    def effective(self) -> Switches:
        values = {n: getattr(Switches(), n) for n in BEHAVIOUR_SWITCHES}
        values.update(PROFILES[self.profile].switches)
        values.update(self.switches)
        return Switches(**values)

    @property
    def page_size(self) -> int:
        """The tap's ``page_size``: above the sandbox's cap where a case is about the cap (twice it), so
        that clamping, echoing or refusing happens; else small, for many pages."""
        sw = self.effective
        about_cap = sw.max_page_size < MAX_PAGE_SIZE or sw.page_size_enforcement != "clamp_report"
        about_cap = about_cap or sw.page_size_error_wording != "pagesize"
        return max(PAGE_SIZE, 2 * sw.max_page_size) if about_cap else PAGE_SIZE

    @property
    def served_size(self) -> int:
        return min(self.page_size, self.effective.max_page_size)


def profile_cases() -> list[Case]:
    return [Case(f"profile:{name}", profile=name) for name in PROFILES]


def heavy_churn_cases() -> list[Case]:
    cases = [Case(f"heavy-churn:{name}", profile=name, churn=HEAVY_CHURN) for name in HEAVY_PROFILES]
    lagged = {"stamp_lag_seconds": STAMP_LAG}
    cases.append(Case("heavy-churn:filter_ignored+stamp_lag", "filter_ignored", lagged, churn=HEAVY_CHURN))
    cases.append(Case("heavy-churn:orderby_ignored+stamp_lag", "orderby_ignored", lagged, churn=HEAVY_CHURN))
    return cases


def switch_cases() -> list[Case]:
    """Each non-default value of each behaviour switch, alone (``max_page_size``: one cap below 50;
    ``stamp_lag_seconds``: ``STAMP_LAG`` behind and ahead)."""
    defaults = Switches()
    cases = []
    for name in BEHAVIOUR_SWITCHES:
        default = getattr(defaults, name)
        meta = Switches.__dataclass_fields__[name].metadata["choices"]
        if isinstance(default, bool):
            values: list[Any] = [not default]
        elif name == "max_page_size":
            values = [PAGE_SIZE // 2]
        elif name == "stamp_lag_seconds":
            values = [STAMP_LAG, -STAMP_LAG]
        else:
            values = [v for v in meta if v != default]
        for value in values:
            check_switch(name, value)
            cases.append(Case(f"{name}={value}", switches={name: value}))
    return cases


# -- the truth -------------------------------------------------------------------------------------------
@dataclass
class Truth:
    """Every record of each stream, by key, with the parent (partition) it lists under."""

    records: dict[str, dict[Key, tuple[str | None, dict[str, Any]]]]

    def keys(self, stream: str) -> set[Key]:
        return set(self.records[stream])

    def per_parent(self, stream: str) -> dict[str | None, set[Key]]:
        result: dict[str | None, set[Key]] = defaultdict(set)
        for key, (parent, _) in self.records[stream].items():
            result[parent].add(key)
        return result


def key_of(d: StreamDef, record: dict[str, Any]) -> Key:
    return tuple(record.get(k) for k in d.keys)


def read_truth(server: SandboxServer, company: str) -> Truth:
    token = server.mint_tokens(company, SCOPES)["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def list_all(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page, pages = 1, 1
        while page <= pages:
            query = {**params, "$page": str(page), "$pagesize": str(MAX_PAGE_SIZE)}
            response = session.get(f"{server.api_url}{path}", params=query, timeout=60)
            response.raise_for_status()
            body = response.json()
            rows += body["Data"]
            pages = body["Meta"]["TotalNumberOfPages"]
            page += 1
        return rows

    records: dict[str, dict[Key, tuple[str | None, dict[str, Any]]]] = {}
    for name in STREAMS:
        d = BY_NAME[name]
        found: dict[Key, tuple[str | None, dict[str, Any]]] = {}
        if d.parent and d.parent_key and d.path_param:
            for parent in list_all(BY_NAME[d.parent].path, {}):
                pid = str(parent["Id"])
                path = d.path.replace("{" + d.path_param + "}", pid)
                for row in list_all(path, dict(d.params)):
                    found[key_of(d, {**row, d.parent_key: pid})] = (pid, row)
        else:
            for row in list_all(d.path, dict(d.params)):
                found[key_of(d, row)] = (None, row)
        records[name] = found
    return Truth(records)


# -- a run -----------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    summary: RunSummary
    messages: list[dict[str, Any]]
    stats: dict[str, dict[str, int]]  # the sandbox's request counts per endpoint and outcome
    before: Truth
    after: Truth
    start_state: dict[str, Any]
    stderr: str = ""

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    def emitted(self, stream: str) -> list[Key]:
        d = BY_NAME[stream]
        return [
            key_of(d, m["record"]) for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def requests(self, endpoint: str | None = None) -> int:
        """Requests the sandbox answered (a cut-off body the client fetched again is not a request of
        the read: the client's retry policy sends it again)."""
        return sum(
            n
            for ep, outcomes in self.stats.items()
            if ep.startswith("GET /v2") and (endpoint is None or ep == f"GET /v2{endpoint}")
            for outcome, n in outcomes.items()
            if outcome != "truncate"
        )


_CATALOGS: dict[tuple[str, ...], dict[str, Any]] = {}


def catalog(config: dict[str, Any]) -> dict[str, Any]:
    if STREAMS not in _CATALOGS:
        found: dict[str, Any] = TapEAccounting(config=config).catalog_dict
        for entry in found["streams"]:
            for md in entry["metadata"]:
                if md["breadcrumb"] == []:
                    md["metadata"]["selected"] = entry["tap_stream_id"] in STREAMS
        _CATALOGS[STREAMS] = found
    return json.loads(json.dumps(_CATALOGS[STREAMS]))


def new_company(server: SandboxServer) -> str:
    name = f"matrix-{uuid.uuid4().hex[:10]}"
    server.admin("POST", "companies", {"company": name, "seed": 1, "country": "NO"})
    return name


def tap_config(server: SandboxServer, company: str, case: Case, tmp: Path) -> dict[str, Any]:
    return {
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "refresh_token": server.mint_tokens(company, SCOPES)["refresh_token"],
        "token_store_path": str(tmp / f"tokens-{uuid.uuid4().hex}.json"),
        "api_url": server.api_url,
        "identity_url": server.identity_url,
        "page_size": case.page_size,
        "max_concurrency": MAX_CONCURRENCY,
        "strict_completeness": case.strict,
    }


def defaults(server: SandboxServer) -> None:
    server.admin("DELETE", "faults")
    server.admin("POST", "config", {"profile": DEFAULT_PROFILE})


def run_case_once(
    server: SandboxServer, company: str, case: Case, config: dict[str, Any], state: dict[str, Any]
) -> RunResult:
    """One tap run under the case's switches, with churn between page requests."""
    defaults(server)
    before = read_truth(server, company)
    server.admin("POST", "config", {"profile": case.profile, **case.switches})
    churn = {"company": company, **case.churn}
    server.admin("POST", "faults", {"seed": 3, **PROFILES[case.profile].faults, "churn": churn})
    server.admin("DELETE", "stats")
    tap = TapEAccounting(config=config, state=json.loads(json.dumps(state)), catalog=catalog(config))
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer):
            summary = tap.sync_selected()
    finally:
        stats = server.admin("GET", "stats")["endpoints"]
        defaults(server)
    after = read_truth(server, company)
    messages = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return RunResult(summary, messages, stats, before, after, state)


def run_case(server: SandboxServer, case: Case, tmp: Path) -> list[RunResult]:
    """The case's two runs on a company of its own: a full one, then an incremental one."""
    company = new_company(server)
    config = tap_config(server, company, case, tmp)
    try:
        first = run_case_once(server, company, case, config, {})
        server.admin("POST", "churn", {"company": company, "updates": BURST, "collections": CHURNED})
        second = run_case_once(server, company, case, config, first.state)
    finally:
        server.sandbox.companies.pop(company, None)  # ~7 MB each; the server runs in this process
    return [first, second]


# -- the checks ------------------------------------------------------------------------------------------
def bookmarks(state: dict[str, Any], stream: str) -> dict[str | None, str | None]:
    """Partition (parent id, or ``None``) -> the bookmark the run starts from."""
    entry = state.get("bookmarks", {}).get(stream, {})
    result: dict[str | None, str | None] = {None: entry.get("replication_key_value")}
    d = BY_NAME[stream]
    for partition in entry.get("partitions", []):
        parent = partition.get("context", {}).get(d.parent_key)
        result[str(parent)] = partition.get("replication_key_value")
    return result


def expected(run: RunResult, stream: str) -> set[Key]:
    """What must be emitted: records at the start and at the end, at or after their bookmark."""
    d = BY_NAME[stream]
    marks = bookmarks(run.start_state, stream)
    survivors = run.before.keys(stream) & run.after.keys(stream)
    if not d.replication_key:
        return survivors
    result = set()
    for key in survivors:
        parent, record = run.before.records[stream][key]
        mark = marks.get(parent)
        value = record.get(d.replication_key)
        if not mark or (value and paging.instant_ticks(str(value)) >= paging.instant_ticks(str(mark))):
            result.add(key)
    return result


def bounds(run: RunResult, case: Case) -> dict[str, int]:
    """Endpoint -> the most requests its reads may make (``reader.request_bound``, from the most rows
    each list could have counted during the run)."""
    size = case.served_size
    churned = sum(run.requests(p.removeprefix("/v2")) for p in CHURN_PATHS) + run.requests(
        "/vouchers/{fiscalyearId}"
    )
    created = int(case.churn["creates"]) * math.ceil(churned / int(case.churn["every"]))
    result: dict[str, int] = defaultdict(int)
    for stream in STREAMS:
        d = BY_NAME[stream]
        before, after = run.before.per_parent(stream), run.after.per_parent(stream)
        extra = created if d.path.split("/")[1] in CHURNED else 0
        if d.parent:
            parents = set(before) | set(after)
            result[BY_NAME[d.parent].path] = request_bound(len(parents), size)
        for parent in set(before) | set(after):
            total = len(before.get(parent, set()) | after.get(parent, set())) + extra
            result[d.path] += request_bound(total, size)
        if stream in PROBED:
            result[BY_NAME[PROBED[stream]].path] += PROBE_BOUND
    return dict(result)


def check(run: RunResult, case: Case) -> list[str]:
    """Problems with one run (empty: it did everything the matrix asks). Every case, whatever its
    ``$filter`` does, must emit every record that existed from the run's start to its end in that same
    run (``reader``, "Settling"), within the request bound."""
    problems = []
    code = run.summary.exit_code
    strict_shortfall = case.strict and code == 3
    if code != 0 and not strict_shortfall:
        problems.append(f"exit code {code}: {run.summary.table()}")
    if strict_shortfall:
        failed = [o for o in run.summary.outcomes.values() if o.status != "ok"]
        if any(o.error != "IncompleteReadError" for o in failed):
            problems.append(f"strict run failed otherwise: {run.summary.table()}")
    for stream in STREAMS:
        if strict_shortfall and run.summary.outcomes[stream].status != "ok":
            continue  # a stream that stopped short on purpose
        missing = expected(run, stream) - set(run.emitted(stream))
        if missing:
            problems.append(f"{stream}: {len(missing)} record(s) never emitted, e.g. {sorted(missing)[:2]}")
    for endpoint, bound in bounds(run, case).items():
        made = run.requests(endpoint)
        if made > bound:
            problems.append(f"{endpoint}: {made} requests, above the bound {bound}")
    return problems


def learned(run: RunResult) -> dict[str, dict[str, Any]]:
    """Endpoint -> what the run's STATE keeps about it (``api_capabilities`` of every stream)."""
    result: dict[str, dict[str, Any]] = {}
    for entry in run.state.get("bookmarks", {}).values():
        for template, caps in entry.get("api_capabilities", {}).items():
            result[template] = {k: v for k, v in caps.items() if k != "learned"}
    return result
