"""What happened to each record: counters, the summary line, reject routing and the dry-run plan."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from target_eaccounting import private_files
from target_eaccounting.record_errors import RecordError
from target_eaccounting.rejects import RejectFile, log_line, reject_line

CREATED = "created"
UPDATED = "updated"
SKIPPED = "skipped"
REJECTED = "rejected"
ACTIONS = (CREATED, UPDATED, SKIPPED, REJECTED)
# dry-run plan actions
PLAN = {CREATED: "create", UPDATED: "update", SKIPPED: "skip", REJECTED: "reject"}


class Outcomes:
    """Thread-safe tally of the run. In a dry run, every decision also goes to the plan file."""

    def __init__(
        self,
        rejects: RejectFile,
        logger: logging.Logger,
        *,
        client_id: str | None,
        plan_path: str | Path | None = None,
    ) -> None:
        self.rejects = rejects
        self.logger = logger
        self.client_id = client_id
        self.counts = dict.fromkeys(ACTIONS, 0)
        self._lock = threading.Lock()
        self._plan: IO[str] | None = None
        self.dry_run = plan_path is not None
        if plan_path is not None:
            # kept open for the whole run and closed in close(); 0600: its messages quote record values
            self._plan = private_files.open_text(Path(plan_path), append=False)

    def record(
        self, action: str, stream: str, key: str | None, object_id: str | None = None, detail: str = ""
    ) -> None:
        with self._lock:
            self.counts[action] += 1
            if self._plan is not None:
                entry = {"action": PLAN[action], "stream": stream, "external_key": key}
                if object_id:
                    entry["object_id"] = object_id
                if detail:
                    entry["detail"] = detail
                self._plan.write(json.dumps(entry) + "\n")

    def reject(
        self,
        stream: str | None,
        key: str | None,
        record: Mapping[str, Any] | None,
        error: RecordError,
        *,
        line_number: int | None = None,
        raw_line: str | None = None,
    ) -> None:
        """``record`` None with ``raw_line``: an input line that was no usable message."""
        line = reject_line(
            stream, key, record, error, self.client_id, line_number=line_number, raw_line=raw_line
        )
        self.logger.error(log_line(line))
        with self._lock:
            self.counts[REJECTED] += 1
            if self._plan is not None:
                plan = {k: v for k, v in line.items() if k not in ("record", "raw_line", "rejected_utc")}
                self._plan.write(json.dumps({"action": "reject", **plan}, default=str) + "\n")
                return
        self.rejects.write(line)

    def flush(self) -> None:
        self.rejects.flush()
        with self._lock:
            if self._plan is not None:
                self._plan.flush()

    def summary(self) -> str:
        c = self.counts
        prefix = "dry run plan" if self.dry_run else "target-eaccounting summary"
        return (
            f"{prefix}: created={c[CREATED]} updated={c[UPDATED]} skipped={c[SKIPPED]} rejected={c[REJECTED]}"
        )

    def close(self) -> None:
        self.flush()
        self.rejects.close()
        with self._lock:
            if self._plan is not None:
                self._plan.close()
                self._plan = None
