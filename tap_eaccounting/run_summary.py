"""What one tap run did, per stream, and the exit code it ends with.

Every run ends with one block in the log (stderr, never stdout, which carries the Singer messages):
per selected stream its status (``skipped``, with the reason, for a fan-out stream ``fan_out_streams``
does not enable), records emitted, API requests, seconds, 429 answers, retries, and
the fallbacks the reader took (what ``list_capabilities`` learned or carried over for the endpoints
the stream read). Requests, 429s and retries are what the shared client counted for the stream's sync
(``stream_scheduler.StreamCounter``: its page and parent requests, and a parent-id listing it made),
whatever other streams ran beside it. Rows keep the catalog order, whatever order streams ended in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from singer_sdk.singerlib import Message, RecordMessage

from eaccounting_api.errors import ReauthorizationRequired
from tap_eaccounting.message_writer import BufferedMsgSpecWriter

# Exit codes (README "Exit codes").
EXIT_OK = 0
EXIT_ERROR = 1  # a run-level error (host, URL, credentials, token store) or an unexpected one
EXIT_REAUTHORIZE = ReauthorizationRequired.exit_code  # 2
EXIT_STREAMS_FAILED = 3  # the run finished, but one or more streams failed (as the target's 3: rejects)

OK, FAILED, STOPPED, NOT_RUN, SKIPPED = "ok", "failed", "stopped", "not run", "skipped"


@dataclass
class StreamOutcome:
    name: str
    status: str = NOT_RUN
    error: str | None = None  # the failure's class name (or why it was skipped), for the status column
    records: int = 0
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    seconds: float = 0.0
    fallbacks: str = ""

    @property
    def status_text(self) -> str:
        return f"{self.status}: {self.error}" if self.error else self.status

    def skip(self, reason: str) -> None:
        """Selected, but not synced on purpose (not a failure: the exit code stays 0)."""
        self.status, self.error = SKIPPED, reason


def describe_fallbacks(entries: Mapping[str, Mapping[str, Any]]) -> str:
    """``{"/customers": {"filter": "ignored", "page_size": 500}}`` -> ``/customers $filter ignored,
    500/page``: the list options an endpoint's reads went without."""
    parts = []
    for template, caps in sorted(entries.items()):
        findings = [
            f"${name} {caps[name]}" for name in ("filter", "orderby") if caps.get(name) not in (None, "ok")
        ]
        if caps.get("page_size"):
            findings.append(f"{caps['page_size']}/page")
        if findings:
            parts.append(f"{template} {', '.join(findings)}")
    return "; ".join(parts)


@dataclass
class RunSummary:
    outcomes: dict[str, StreamOutcome] = field(default_factory=dict)
    run_error: bool = False  # a run-level error stopped the run (``run_exit``: 1, or 4 unreachable)
    run_exit: int = EXIT_ERROR
    interrupted: str | None = None  # the signal (SIGINT, SIGTERM) that stopped the run (exit 3)

    def add(self, name: str) -> StreamOutcome:
        self.outcomes[name] = StreamOutcome(name)
        return self.outcomes[name]

    @property
    def failed(self) -> list[str]:
        return [o.name for o in self.outcomes.values() if o.status in (FAILED, STOPPED)]

    @property
    def exit_code(self) -> int:
        if self.run_error:
            return self.run_exit
        return EXIT_STREAMS_FAILED if self.failed or self.interrupted else EXIT_OK

    def table(self) -> str:
        """The block the run ends with: a headline, then one aligned row per selected stream."""
        if not self.outcomes:
            return "Run summary: no stream selected"
        counts = {
            s: sum(o.status == s for o in self.outcomes.values())
            for s in (OK, FAILED, STOPPED, SKIPPED, NOT_RUN)
        }
        head = f"Run summary: {len(self.outcomes)} stream(s): " + ", ".join(
            f"{n} {status}" for status, n in counts.items() if n
        )
        if self.interrupted:
            head += f" (interrupted by {self.interrupted})"
        rows = [("stream", "status", "records", "requests", "seconds", "429s", "retries", "fallbacks")]
        for o in self.outcomes.values():
            rows.append(
                (
                    o.name,
                    o.status_text,
                    str(o.records),
                    str(o.requests),
                    f"{o.seconds:.1f}",
                    str(o.rate_limited),
                    str(o.retries),
                    o.fallbacks or "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = [head]
        for row in rows:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
            cells += [cell.rjust(width) for cell, width in zip(row[2:-1], widths[2:], strict=True)]
            lines.append("  " + "  ".join(cells) + "  " + row[-1])
        return "\n".join(lines)


class CountingWriter(BufferedMsgSpecWriter):
    """The tap's message writer, counting the RECORD messages of each stream for the summary (under the
    writer's lock: streams write from their own threads). ``before_record``, if set, runs before each
    record in the writing thread, and may refuse it by raising (a stopping run ends a stream's sync)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: Counter[str] = Counter()
        self.before_record: Callable[[], None] | None = None

    def write_message(self, message: Message) -> None:
        if self.before_record is not None and isinstance(message, RecordMessage):
            self.before_record()
        super().write_message(message)

    def note_record(self, message: RecordMessage) -> None:
        self.records[message.stream] += 1
