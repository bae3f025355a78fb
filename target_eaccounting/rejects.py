"""The reject file: one JSON line per failed record, enough to understand it, report it and replay it.

Each line carries the original record, the stream, the external key, the input line number, the reason,
a message naming the field, and for API failures the HTTP status and the API's ``ErrorId``,
``ErrorCode``, ``DeveloperErrorMessage`` and ``Errors[]``. An input line that was no usable message
(not JSON, no record object) has no record: it carries the line as read in ``raw_line`` instead.
``target-eaccounting --replay <file>`` feeds the records straight back in. The file holds business
records, so it is created 0600 (``private_files``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from target_eaccounting import private_files
from target_eaccounting.mapping import plain
from target_eaccounting.record_errors import RecordError

API_FIELDS = ("http_status", "ErrorId", "ErrorCode", "DeveloperErrorMessage", "Errors")

logger = logging.getLogger(__name__)


def reject_line(
    stream: str | None,
    key: str | None,
    record: Mapping[str, Any] | None,
    error: RecordError,
    client_id: str | None,
    *,
    line_number: int | None = None,
    raw_line: str | None = None,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "stream": stream,
        "external_key": key,
        "line_number": line_number,
        "reason": error.reason,
        "message": error.message,
        "field": error.field,
    }
    for name in API_FIELDS:
        line[name] = error.api.get(name)
    line["client_id"] = client_id
    line["rejected_utc"] = dt.datetime.now(dt.UTC).isoformat()
    line["record"] = None if record is None else plain(record)
    if raw_line is not None:
        line["raw_line"] = raw_line
    return line


def log_line(line: Mapping[str, Any]) -> str:
    """The one log line per failure: what Visma support asks for (ErrorId, client_id) comes first."""
    return (
        f"rejected record: ErrorId={line.get('ErrorId')} client_id={line.get('client_id')} "
        f"stream={line['stream']} external_key={line.get('external_key')} "
        f"line_number={line.get('line_number')} reason={line['reason']} "
        f"http_status={line.get('http_status')} ErrorCode={line.get('ErrorCode')} "
        f"field={line.get('field')} message={line['message']}"
    )


class RejectFile:
    """Append-only JSONL (mode 0600), opened on the first reject; each line goes to the OS at once
    (a run stopped by an error keeps it), and is fsynced on ``flush``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        self.count = 0

    def write(self, line: Mapping[str, Any]) -> None:
        text = json.dumps(line, ensure_ascii=False, default=str)
        with self._lock:
            if self._fh is None:
                self._fh = private_files.open_text(self.path, append=True)
            self._fh.write(text + "\n")
            self._fh.flush()
            self.count += 1

    def flush(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.flush()
                os.fsync(self._fh.fileno())

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def read(path: str | Path) -> Iterator[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            line = json.loads(text)
            if not isinstance(line, dict) or "stream" not in line or "record" not in line:
                raise ValueError(f"{path}:{number} is not a reject line (needs 'stream' and 'record')")
            yield line


def replay_messages(path: str | Path) -> Iterator[str]:
    """Singer messages (one SCHEMA per stream, then its RECORDs) rebuilt from a reject file.

    The original SCHEMA is not kept in the reject file, so replay declares an open schema; every
    record is still checked against the API's own schema before it is sent.
    A line that holds no record (it was not JSON, say) is skipped with a warning. The line numbers in
    the replay's own rejects count the messages rebuilt here, not the lines of the file replayed.
    """
    seen: set[str] = set()
    for line in read(path):
        if not isinstance(line["record"], dict) or not line["stream"]:
            # an input line that was no usable message: nothing to replay, fix it at the source
            number, reason = line.get("line_number"), line["reason"]
            logger.warning("replay: skipping input line %s (%s): it holds no record", number, reason)
            continue
        stream = str(line["stream"])
        if stream not in seen:
            seen.add(stream)
            schema = {"type": "object", "properties": {}, "additionalProperties": True}
            yield json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []})
        yield json.dumps({"type": "RECORD", "stream": stream, "record": line["record"]}, default=str)
