"""The profile matrix as a table: each sandbox profile once over the matrix's streams, with churn.

Per profile (both runs of a case, ``tests/tap/profile_matrix.py``: a full run, then an incremental one
from its state): the API requests the sandbox answered, the RECORD messages, the distinct keys among
them, what the tap learned about the endpoints (``api_capabilities`` in its STATE), the exit codes, and
the problems the matrix's checks found (``-``: none). Prints; asserts nothing.

    .venv/bin/python bench/profile_matrix_report.py [--profile NAME ...] [--switches] [--heavy]

``--heavy`` adds the matrix's heavy-churn cases (``heavy-churn:<profile>``, ``HEAVY_CHURN``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the matrix's harness lives with its test

from tap.profile_matrix import (  # noqa: E402 - after the path the harness is found on
    STREAMS,
    Case,
    RunResult,
    check,
    heavy_churn_cases,
    learned,
    profile_cases,
    run_case,
    switch_cases,
)

from eaccounting_sandbox.server import SandboxServer  # noqa: E402

ABBREVIATIONS = {"filter": "$filter", "orderby": "$orderby"}


def describe(caps: dict[str, dict[str, Any]]) -> str:
    """``/vouchers $filter ignored, 500/page; ...``: the non-default findings per endpoint."""
    parts = []
    for template, found in sorted(caps.items()):
        items = [f"{ABBREVIATIONS[k]} {v}" for k, v in found.items() if k in ABBREVIATIONS and v != "ok"]
        items += [f"{found['page_size']}/page"] if "page_size" in found else []
        if items:
            parts.append(f"{template} {', '.join(items)}")
    return "; ".join(parts) or "-"


def row(case: Case, runs: list[RunResult], seconds: float) -> list[str]:
    emitted = [(n, s, key) for n, run in enumerate(runs) for s in STREAMS for key in run.emitted(s)]
    distinct = set(emitted)  # per run and stream
    problems = [p for run in runs for p in check(run, case)]
    return [
        case.name.removeprefix("profile:"),
        "+".join(str(run.requests()) for run in runs),
        str(len(emitted)),
        str(len(distinct)),
        "/".join(str(run.summary.exit_code) for run in runs),
        f"{seconds:.1f}",
        str(len(problems)) if problems else "-",
        describe(learned(runs[-1])),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="append", help="only these profiles (repeatable)")
    parser.add_argument("--switches", action="store_true", help="also every switch value alone")
    parser.add_argument("--heavy", action="store_true", help="also the heavy-churn cases")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the tap's own log lines; problems are printed below
    cases = [c for c in profile_cases() if not args.profile or c.profile in args.profile]
    cases += switch_cases() if args.switches else []
    cases += heavy_churn_cases() if args.heavy else []
    header = ["profile", "requests", "records", "distinct", "exit", "seconds", "problems", "learned"]
    rows = [header]
    with (
        SandboxServer(seed=1, rate_limit_per_minute=0, validate_responses=False) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for case in cases:
            started = time.monotonic()
            runs = run_case(server, case, Path(tmp))
            rows.append(row(case, runs, time.monotonic() - started))
            for run in runs:
                for problem in check(run, case):
                    print(f"{case.name}: {problem}", file=sys.stderr)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    print(f"streams: {', '.join(STREAMS)}; requests and exit codes: full run + incremental run")
    for r in rows:
        print(" | ".join([*(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)), r[-1]]))


if __name__ == "__main__":
    main()
