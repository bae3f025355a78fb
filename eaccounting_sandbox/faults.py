"""Fault injection, set by CLI flags or ``POST /_admin/faults`` and cleared by ``DELETE /_admin/faults``.

A fault spec (every key optional)::

    {"latency_ms": 20, "jitter_ms": 10,          # every matching request waits fixed + uniform jitter
     "error_rate": 0.1, "error_statuses": [500, 502, 503],
     "rate_limit_rate": 0.0, "rate_limit_seconds": 1,   # 429 ErrorCode 4010 "Try again in N seconds."
     "reset_rate": 0.0,                          # TCP reset before any response byte
     "truncate_rate": 0.0,                       # 200 with a cut-off JSON body (Content-Length matches)
     "truncate_mode": "json",                    # or "connection": full Content-Length, reset mid-body
     "slow_rate": 0.0, "slow_seconds": 30,       # answer only after slow_seconds (beyond a client timeout)
     "lost_response_rate": 0.0,                  # writes: commit, then drop the connection unanswered
     "methods": ["POST"], "paths": ["/v2/customerinvoices"],   # restrict to these (path prefixes)
     "max_faults": 3,                            # stop after this many injected faults (latency excluded)
     "seed": 7,                                  # reproducible draws
     "churn": {"company": "demo-no", "creates": 2, "updates": 2, "deletes": 1, "every": 1,
               "collections": ["customerinvoices", "vouchers"]}}   # default: churn.DEFAULT_COLLECTIONS

Truncation hits GETs only unless ``methods`` is given; then it hits those methods, writes included
(the write commits, then its answer is cut: an ambiguous write). Rates are probabilities per matching
request; 1.0 with ``max_faults`` N hits exactly the next N.
Churn runs before every ``every``-th list request with ``$page`` >= 2, i.e. between the page requests
of one sync, so records move while a client pages. ``/_admin`` is never faulted; by default only
``/v2`` is (add ``/connect`` to ``paths`` to fault the identity server).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl

KINDS = ("reset", "error", "rate_limited", "slow", "truncate", "lost_response")
DEFAULT_PATHS = ("/v2",)


@dataclass
class ChurnSpec:
    company: str
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    every: int = 1
    collections: list[str] | None = None  # stored collections with an ``Id`` (default: churn's own)


@dataclass
class FaultSpec:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503])
    rate_limit_rate: float = 0.0
    rate_limit_seconds: int = 1
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    truncate_mode: str = "json"  # or "connection"
    slow_rate: float = 0.0
    slow_seconds: float = 30.0
    lost_response_rate: float = 0.0
    methods: list[str] | None = None
    paths: list[str] = field(default_factory=lambda: list(DEFAULT_PATHS))
    max_faults: int | None = None
    seed: int | None = None
    churn: ChurnSpec | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> FaultSpec:
        if not isinstance(raw, dict):
            raise ValueError("a fault spec is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            names = ", ".join(sorted(known))
            raise ValueError(f"unknown fault option(s): {', '.join(unknown)}; known: {names}")
        values = dict(raw)
        churn = values.pop("churn", None)
        try:
            spec = cls(**values)
        except TypeError as exc:
            raise ValueError(f"bad fault spec: {exc}") from None
        if churn is not None:
            if not isinstance(churn, dict) or "company" not in churn:
                raise ValueError('churn needs {"company": ..., "creates"/"updates"/"deletes": N}')
            try:
                spec.churn = ChurnSpec(**churn)
            except TypeError as exc:
                raise ValueError(f"bad churn spec: {exc}") from None
        _check(spec)
        if spec.methods is not None:
            spec.methods = [m.upper() for m in spec.methods]
        return spec


RATES = ("error_rate", "rate_limit_rate", "reset_rate", "truncate_rate", "slow_rate", "lost_response_rate")
AMOUNTS = ("latency_ms", "jitter_ms", "slow_seconds", "rate_limit_seconds")


def _within(value: Any, upper: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= upper


def _check(spec: FaultSpec) -> None:
    """Reject a spec that would only fail later, inside a request."""
    problems = [f"{n} must be a number between 0 and 1" for n in RATES if not _within(getattr(spec, n), 1.0)]
    problems += [f"{n} must be a number >= 0" for n in AMOUNTS if not _within(getattr(spec, n), float("inf"))]
    if spec.max_faults is not None and (not isinstance(spec.max_faults, int) or spec.max_faults < 0):
        problems.append("max_faults must be an integer >= 0")
    for name in ("methods", "paths"):
        value = getattr(spec, name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{name} must be a list of strings")
    if not isinstance(spec.error_statuses, list) or any(
        s not in (500, 502, 503, 504) for s in spec.error_statuses
    ):
        problems.append("error_statuses must be a list among 500, 502, 503, 504")
    if spec.truncate_mode not in ("json", "connection"):
        problems.append("truncate_mode must be 'json' or 'connection'")
    if problems:
        raise ValueError("bad fault spec: " + "; ".join(problems))


@dataclass(frozen=True)
class Decision:
    """What to do to one request."""

    delay: float = 0.0
    kind: str | None = None  # one of KINDS, or None
    status: int = 0  # for kind == "error"
    churn: ChurnSpec | None = None


NO_FAULT = Decision()


class FaultInjector:
    def __init__(self) -> None:
        self.spec = FaultSpec()
        self.active = False
        self.injected: dict[str, int] = {}
        self._rng = random.Random()  # noqa: S311 - fault draws, not cryptography
        self._list_pages_seen = 0

    def set(self, raw: dict[str, Any]) -> FaultSpec:
        spec = FaultSpec.parse(raw)
        self.spec = spec
        self.active = bool(raw)
        self.injected = {}
        self._rng = random.Random(spec.seed)  # noqa: S311 - reproducible fault draws
        self._list_pages_seen = 0
        return spec

    def clear(self) -> None:
        self.set({})

    def decide(self, method: str, path: str, query_string: bytes) -> Decision:
        if not self.active or path.startswith("/_admin"):
            return NO_FAULT
        spec = self.spec
        if not any(path.startswith(prefix) for prefix in spec.paths):
            return NO_FAULT
        if spec.methods is not None and method not in spec.methods:
            return NO_FAULT
        delay = spec.latency_ms / 1000.0
        if spec.jitter_ms:
            delay += self._rng.uniform(0.0, spec.jitter_ms / 1000.0)
        churn = self._churn_due(method, query_string)
        kind = self._draw_kind(method)
        if kind is None:
            return Decision(delay=delay, churn=churn)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        status = self._rng.choice(spec.error_statuses) if kind == "error" else 0
        return Decision(delay=delay, kind=kind, status=status, churn=churn)

    def _draw_kind(self, method: str) -> str | None:
        spec = self.spec
        if spec.max_faults is not None and sum(self.injected.values()) >= spec.max_faults:
            return None
        rates = {
            "reset": spec.reset_rate,
            "error": spec.error_rate,
            "rate_limited": spec.rate_limit_rate,
            "slow": spec.slow_rate,
            "truncate": spec.truncate_rate if method == "GET" or spec.methods is not None else 0.0,
            "lost_response": spec.lost_response_rate if method != "GET" else 0.0,
        }
        for kind in KINDS:
            rate = rates[kind]
            if rate and self._rng.random() < rate:
                return kind
        return None

    def _churn_due(self, method: str, query_string: bytes) -> ChurnSpec | None:
        churn = self.spec.churn
        if churn is None or method != "GET":
            return None
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        try:
            page = int(query.get("$page", "1"))
        except ValueError:
            return None
        if page < 2:
            return None
        self._list_pages_seen += 1
        if self._list_pages_seen % max(1, churn.every):
            return None
        return churn
