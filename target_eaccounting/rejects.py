"""The reject file: one JSON line per failed record, enough to understand it, report it and replay it.

Each line carries the original record, the stream, the external key, the reason, a message naming the
field, and for API failures the HTTP status and the API's ``ErrorId``, ``ErrorCode``,
``DeveloperErrorMessage`` and ``Errors[]``. ``target-eaccounting --replay <file>`` feeds the records
straight back in.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from target_eaccounting.mapping import plain
from target_eaccounting.record_errors import RecordError

API_FIELDS = ("http_status", "ErrorId", "ErrorCode", "DeveloperErrorMessage", "Errors")


def reject_line(
    stream: str, key: str | None, record: Mapping[str, Any], error: RecordError, client_id: str | None
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "stream": stream,
        "external_key": key,
        "reason": error.reason,
        "message": error.message,
        "field": error.field,
    }
    for name in API_FIELDS:
        line[name] = error.api.get(name)
    line["client_id"] = client_id
    line["rejected_utc"] = dt.datetime.now(dt.UTC).isoformat()
    line["record"] = plain(record)
    return line


def log_line(line: Mapping[str, Any]) -> str:
    """The one log line per failure: what Visma support asks for (ErrorId, client_id) comes first."""
    return (
        f"rejected record: ErrorId={line.get('ErrorId')} client_id={line.get('client_id')} "
        f"stream={line['stream']} external_key={line.get('external_key')} reason={line['reason']} "
        f"http_status={line.get('http_status')} ErrorCode={line.get('ErrorCode')} "
        f"field={line.get('field')} message={line['message']}"
    )


class RejectFile:
    """Append-only JSONL, opened on the first reject, fsynced on ``flush``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        self.count = 0

    def write(self, line: Mapping[str, Any]) -> None:
        text = json.dumps(line, ensure_ascii=False, default=str)
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(text + "\n")
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
            if not isinstance(line, dict) or "stream" not in line or not isinstance(line.get("record"), dict):
                raise ValueError(f"{path}:{number} is not a reject line (needs 'stream' and 'record')")
            yield line


def replay_messages(path: str | Path) -> Iterator[str]:
    """Singer messages (one SCHEMA per stream, then its RECORDs) rebuilt from a reject file.

    The original SCHEMA is not kept in the reject file, so replay declares an open schema; every
    record is still checked against the API's own schema before it is sent.
    """
    seen: set[str] = set()
    for line in read(path):
        stream = str(line["stream"])
        if stream not in seen:
            seen.add(stream)
            schema = {"type": "object", "properties": {}, "additionalProperties": True}
            yield json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []})
        yield json.dumps({"type": "RECORD", "stream": stream, "record": line["record"]}, default=str)
