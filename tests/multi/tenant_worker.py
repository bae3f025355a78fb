"""One simulated machine: runs its jobs one after another, each a real connector process.

    python tests/multi/tenant_worker.py JOBS_JSON

JOBS_JSON: ``{"jobs": [{"tenant", "kind": "tap"|"target", "config": path, "catalog": path|null,
"input": path|null}]}``. The worker runs in its machine's directory with its own HOME and
XDG_STATE_HOME (set by the caller); it shares nothing with the other workers but the coordination
database. After each job it prints one JSON line: tenant, kind, exit code, seconds, records per stream
(tap: distinct ``Id`` values), and the last lines of stderr when the job failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def tap_records(stdout: Path) -> dict[str, int]:
    ids: dict[str, set[Any]] = defaultdict(set)
    with stdout.open(encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                ids[message["stream"]].add(message["record"].get("Id"))
    return {stream: len(found) for stream, found in ids.items()}


def run_job(job: dict[str, Any], index: int) -> dict[str, Any]:
    kind = job["kind"]
    out = Path(f"{index:03d}-{job['tenant']}-{kind}.out")
    err = Path(f"{index:03d}-{job['tenant']}-{kind}.err")
    command = [str(BIN / f"{kind}-eaccounting"), "--config", job["config"]]
    if job.get("catalog"):
        command += ["--catalog", job["catalog"]]
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        stdin = open(job["input"], "rb") if job.get("input") else subprocess.DEVNULL  # noqa: SIM115
        try:
            code = subprocess.run(command, stdin=stdin, stdout=stdout, stderr=stderr, check=False).returncode
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
    result: dict[str, Any] = {
        "tenant": job["tenant"],
        "kind": kind,
        "exit": code,
        "started": started,
        "seconds": round(time.monotonic() - started, 2),
        "stderr": str(err.resolve()),
    }
    if kind == "tap" and code == 0:
        result["records"] = tap_records(out)
    if code != 0:
        result["stderr_tail"] = err.read_text("utf-8", errors="replace")[-3000:]
    return result


def main() -> int:
    jobs = json.loads(Path(sys.argv[1]).read_text("utf-8"))["jobs"]
    failed = 0
    for index, job in enumerate(jobs):
        result = run_job(job, index)
        failed += result["exit"] != 0
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
