"""What each list endpoint was found to support, learned from its answers and kept in stream state.

Per endpoint (path template, e.g. ``/accounts/{fiscalyearId}``) three facts, each unknown until a
response shows it (see ``reader`` for how):

* ``filter``: ``ok`` (a filtered answer held only matching rows), ``ignored`` (rows violating the
  ``$filter`` came back) or ``refused`` (400 with ``$filter``, the same request without it served);
* ``orderby``: ``ok``, ``ignored`` (a page not in the order asked) or ``refused`` (400);
* ``page_size``: the most rows the endpoint serves per page, when below what was asked.

The stream-level state holds them under ``STATE_KEY``, only for endpoints where something is not the
default (a well-behaved endpoint leaves no trace)::

    "api_capabilities": {"/customers": {"filter": "ignored", "orderby": "ok", "page_size": 500,
                                        "learned": "2026-03-01"}}

A later run starts from them (and pays no diagnosis again) until they are ``RELEARN_AFTER`` old: then
they are dropped and learned afresh, so a server that starts honouring ``$filter`` is noticed. One
``CapabilityBook`` serves all streams of a run (an endpoint read by two streams is learned once); each
stream stores the entries of the endpoints it read. Each stream says once per run, in one log line per
endpoint, what it reads differently and since when.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

STATE_KEY = "api_capabilities"
OK, IGNORED, REFUSED = "ok", "ignored", "refused"
_VERDICTS = (OK, IGNORED, REFUSED)
RELEARN_AFTER = dt.timedelta(days=30)


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


@dataclass(frozen=True)
class Capabilities:
    filter: str | None = None
    orderby: str | None = None
    page_size: int | None = None
    learned: str | None = None  # UTC date of the last finding
    refused_size: int | None = None  # the page size whose refusal taught ``page_size`` (not kept)

    @property
    def filter_usable(self) -> bool:
        return self.filter not in (IGNORED, REFUSED)

    @property
    def orderby_usable(self) -> bool:
        return self.orderby not in (IGNORED, REFUSED)

    @property
    def notable(self) -> bool:
        """Whether anything differs from a well-behaved endpoint (worth state and a log line)."""
        return not (self.filter_usable and self.orderby_usable) or self.page_size is not None

    def as_state(self) -> dict[str, Any]:
        kept = {"filter": self.filter, "orderby": self.orderby, "page_size": self.page_size}
        return {**{k: v for k, v in kept.items() if v is not None}, "learned": self.learned}

    @classmethod
    def from_state(cls, value: Any, now: dt.date) -> Capabilities | None:
        """The entry as stored; ``None`` when malformed or older than ``RELEARN_AFTER``."""
        if not isinstance(value, Mapping):
            return None
        try:
            learned = dt.date.fromisoformat(str(value.get("learned")))
        except ValueError:
            return None
        if now - learned > RELEARN_AFTER:
            return None
        size = value.get("page_size")
        return cls(
            filter=value.get("filter") if value.get("filter") in _VERDICTS else None,
            orderby=value.get("orderby") if value.get("orderby") in _VERDICTS else None,
            page_size=size if isinstance(size, int) and size > 0 else None,
            learned=learned.isoformat(),
        )

    def describe(self, stream: str, template: str) -> str:
        findings = []
        words = {IGNORED: "ignores", REFUSED: "rejected"}
        for name, verdict in (("$filter", self.filter), ("$orderby", self.orderby)):
            if verdict in words:
                findings.append(f"{words[verdict]} {name}" + (" (400)" if verdict == REFUSED else ""))
        if self.page_size is not None:
            refused = f" (page size {self.refused_size} refused)" if self.refused_size else ""
            findings.append(f"serves at most {self.page_size} rows a page{refused}")
        if not self.filter_usable:
            how = "reading full scans filtered client-side, de-duplicated by key, checked by count"
        elif not self.orderby_usable:
            how = "reading page-index scans de-duplicated by key, checked by count"
        else:
            how = f"reading pages of {self.page_size}"
        return f"{stream}: {template} {', '.join(findings)}; {how} (learned {self.learned}, kept in state)"


@dataclass
class CapabilityBook:
    """The capabilities of every endpoint a run reads, shared by its streams (thread-safe)."""

    _caps: dict[str, Capabilities] = field(default_factory=dict)
    _streams_seeded: set[str] = field(default_factory=set)
    _used: dict[str, set[str]] = field(default_factory=dict)  # stream -> templates it read
    _announced: set[tuple[str, str, Capabilities]] = field(default_factory=set)
    _verified: dict[str, set[str]] = field(default_factory=dict)  # template -> {"filter", "orderby"}
    _served: dict[str, int] = field(default_factory=dict)  # template -> largest page size served
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seed(self, stream: str, stored: Any) -> None:
        """Start from what a stream's state says (once per stream and run)."""
        with self._lock:
            if stream in self._streams_seeded:
                return
            self._streams_seeded.add(stream)
            entries = stored if isinstance(stored, Mapping) else {}
            now = dt.datetime.now(dt.UTC).date()
            for template, value in entries.items():
                caps = Capabilities.from_state(value, now)
                if caps is None:
                    continue
                self._used.setdefault(stream, set()).add(str(template))
                current = self._caps.get(template)
                if current is None or (current.learned or "") < (caps.learned or ""):
                    self._caps[str(template)] = caps

    def get(self, template: str) -> Capabilities:
        with self._lock:
            return self._caps.get(template, Capabilities())

    def use(self, stream: str, template: str) -> None:
        with self._lock:
            self._used.setdefault(stream, set()).add(template)

    def learn(self, template: str, **findings: Any) -> Capabilities:
        """Record findings (``filter=IGNORED``, ``page_size=500``, ...); a refusal or an ignored option
        is never turned back into ``ok`` within a run."""
        with self._lock:
            caps = self._caps.get(template, Capabilities())
            for name in ("filter", "orderby"):
                if findings.get(name) == OK and getattr(caps, name) in (IGNORED, REFUSED):
                    findings.pop(name)
            if "page_size" in findings and caps.page_size is not None:
                findings["page_size"] = min(caps.page_size, findings["page_size"])
            changed = replace(caps, **findings)
            if changed != caps:
                news = any(findings.get(k) not in (None, OK) for k in ("filter", "orderby", "page_size"))
                if news or changed.learned is None:
                    changed = replace(changed, learned=today())
                self._caps[template] = changed
            return self._caps[template]

    # -- what worked in this run: a 400 cannot be about an option a request like it was served with -------
    def verified(self, template: str) -> set[str]:
        with self._lock:
            return set(self._verified.get(template, ()))

    def served(self, template: str, size: int, *, filtered: bool, ordered: bool) -> None:
        with self._lock:
            done = self._verified.setdefault(template, set())
            done.update(n for n, used in (("filter", filtered), ("orderby", ordered)) if used)
            self._served[template] = max(self._served.get(template, 0), size)

    def largest_served(self, template: str) -> int:
        with self._lock:
            return self._served.get(template, 0)

    # -- state and log ---------------------------------------------------------------------------------------
    def keep_in(self, stream: str, state: dict[str, Any]) -> None:
        """Write the notable entries of the endpoints ``stream`` read into its (stream-level) state."""
        self.seed(stream, state.get(STATE_KEY))  # a no-op unless no read of the stream ran this run
        state.pop(STATE_KEY, None)
        if entries := self.export(stream):
            state[STATE_KEY] = entries

    def export(self, stream: str) -> dict[str, dict[str, Any]]:
        """The notable entries of the endpoints ``stream`` read, for its state."""
        with self._lock:
            templates = sorted(self._used.get(stream, ()))
            notable = [t for t in templates if t in self._caps and self._caps[t].notable]
            return {t: self._caps[t].as_state() for t in notable}

    def announce(self, stream: str, template: str, logger: logging.Logger) -> None:
        """One line per stream and endpoint (again only if something new was learned)."""
        with self._lock:
            caps = self._caps.get(template)
            if caps is None or not caps.notable or (stream, template, caps) in self._announced:
                return
            self._announced.add((stream, template, caps))
        level = logging.WARNING if not (caps.filter_usable and caps.orderby_usable) else logging.INFO
        logger.log(level, caps.describe(stream, template))
