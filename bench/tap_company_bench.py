"""A whole-company sync at 250 ms per request against the per-stream bound. Prints; asserts nothing.

The sandbox (subprocess) adds 250 ms to every API request and enforces 600 requests per minute per
endpoint. Every run is a ``tap-eaccounting`` CLI process (stdout to /dev/null) with its defaults and
the catalog's default selection:

* **whole company**: one run with every default stream selected, and the fan-out stream the default
  selection held before ``fan_out_streams`` existed (``WHOLE_COMPANY_FAN_OUT``, enabled by that setting);
* **per-stream bound**: each stream alone, one process each, one after another. Streams have separate
  rate-limit budgets (per endpoint), so a whole-company sync cannot beat its longest stream: the bound
  is the longest single-stream run, a process's wall time, i.e. that stream's sync plus the tap's
  start-up (printed too: a run with no stream selected).

A survey round runs every stream alone once; the timed rounds then run the whole company and the
``--top`` longest streams of the survey (a one-request stream cannot become the longest), alternating,
order rotated. Rate-limit windows are cleared in the sandbox before each run (each process starts with
a fresh client-side budget too). Goal: whole company within 1.3x the per-stream bound.

    .venv/bin/python bench/tap_company_bench.py [--scale 1] [--rounds 3] [--top 3] [--latency-ms 250]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_harness import (
    WHOLE_COMPANY_FAN_OUT,
    Sandbox,
    Series,
    api_requests,
    catalog,
    default_selection,
    machine,
    ratio_line,
    rotated,
    run_cli,
    sandbox,
    select,
    statuses,
    write_json,
)


class Runs:
    """``tap-eaccounting`` runs for one selection each; counts what the sandbox served."""

    def __init__(self, sb: Sandbox, tmp: Path, config: dict[str, Any]) -> None:
        self.sb = sb
        self.tmp = tmp
        self.config = write_json(tmp / "config.json", config)
        self.discovered = catalog(config)
        self.requests = 0
        self.too_many = 0

    def run(self, names: set[str]) -> float:
        path = write_json(self.tmp / "catalog.json", select(self.discovered, names))
        self.sb.admin("POST", "reset-rate-limits")
        self.sb.endpoint_counts(reset=True)
        seconds = run_cli(["tap-eaccounting", "--config", str(self.config), "--catalog", str(path)])
        served = self.sb.endpoint_counts()
        self.requests = api_requests(served)
        self.too_many += statuses(served, "429")
        return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="sandbox data scale (1: 500 invoices)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=3, help="longest streams of the survey timed each round")
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--concurrency", type=int, help="max_concurrency (the tap's default if unset)")
    args = parser.parse_args()
    extra: dict[str, Any] = {"fan_out_streams": WHOLE_COMPANY_FAN_OUT}
    if args.concurrency:
        extra["max_concurrency"] = args.concurrency
    flags = ["--scale", str(args.scale), "--latency-ms", f"{args.latency_ms:g}", "--rate-limit", "600"]
    with tempfile.TemporaryDirectory() as tmp_name, sandbox(*flags) as sb:
        runs = Runs(sb, Path(tmp_name), sb.config(Path(tmp_name), **extra))
        selection = default_selection(runs.discovered) + WHOLE_COMPANY_FAN_OUT
        runs.run(set())  # warm-up: the token, the sandbox's first answers
        survey: dict[str, tuple[float, int]] = {}
        for name in selection:
            survey[name] = (runs.run({name}), runs.requests)
        top = sorted(survey, key=lambda n: survey[n][0], reverse=True)[: args.top]
        whole = Series(f"whole company ({len(selection)} streams, one process)")
        bound = Series("per-stream bound (longest single-stream process)")
        start_up = Series("tap start-up (no stream selected)")
        alone = {name: Series(f"  {name} alone") for name in top}
        whole_requests = 0
        for index in range(args.rounds):
            longest = 0.0
            for item in rotated(["whole", "start-up", *top], index):
                if item == "whole":
                    whole.seconds.append(runs.run(set(selection)))
                    whole_requests = runs.requests
                elif item == "start-up":
                    start_up.seconds.append(runs.run(set()))
                else:
                    seconds = runs.run({item})
                    alone[item].seconds.append(seconds)
                    longest = max(longest, seconds)
            bound.seconds.append(longest)
        print(
            f"[whole company at {args.latency_ms:g} ms, 600/min per endpoint] scale {args.scale:g}, "
            f"tap defaults{', max_concurrency=' + str(args.concurrency) if args.concurrency else ''}; "
            f"{machine()}"
        )
        survey_total = sum(s for s, _ in survey.values())
        print(
            f"  survey: {len(survey)} streams alone, {survey_total:.1f} s in all; longest: "
            + ", ".join(f"{n} {survey[n][0]:.1f} s ({survey[n][1]} requests)" for n in top)
        )
        for series in (whole, bound, start_up, *alone.values()):
            print(series.line())
        print(f"  whole-company requests: {whole_requests}; 429s over every run: {runs.too_many}")
        ratio = whole.median / bound.median
        print(ratio_line("whole company / per-stream bound (medians)", ratio, "<= 1.3x", percent=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
