"""Runtime configuration of one sandbox (CLI flags, ``SandboxServer(**config)``, ``/_admin/config``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_COMPANY = "demo-no"
DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the demo client's public, documented secret
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Switches that /_admin/config may change while the server runs.
RUNTIME_SWITCHES = (
    "reject_oversize_page",
    "shuffle_unordered",
    "rate_limit_per_minute",
    "rate_limit_scope",
    "access_token_ttl",
    "validate_responses",
)

CHOICES = {"rate_limit_scope": ("client", "client_company")}


@dataclass
class SandboxConfig:
    seed: int = 1
    scale: float = 1.0
    companies: list[str] = field(default_factory=lambda: [DEFAULT_COMPANY])
    access_token_ttl: int = 3600
    # Requests per minute per client per endpoint; 0 disables the limit (benchmarks).
    rate_limit_per_minute: int = 600
    # Who shares one budget (UNVERIFIED): "client" (every company of the client_id, as documented)
    # or "client_company" (each company of the client its own).
    rate_limit_scope: str = "client"
    reject_oversize_page: bool = False
    shuffle_unordered: bool = False
    # Validate every /v2 JSON body against the spec before sending it (tests turn this on).
    validate_responses: bool = False
    # Initial fault injection, same shape as POST /_admin/faults.
    faults: dict[str, Any] = field(default_factory=dict)

    def update(self, changes: dict[str, Any], allowed: tuple[str, ...] = RUNTIME_SWITCHES) -> None:
        known = {f.name: f for f in fields(self)}
        for key, value in changes.items():
            if key not in allowed or key not in known:
                raise ValueError(f"unknown or read-only config switch {key!r}; allowed: {', '.join(allowed)}")
            current = getattr(self, key)
            if key in CHOICES and value not in CHOICES[key]:
                raise ValueError(f"config switch {key!r} must be one of {', '.join(CHOICES[key])}")
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"config switch {key!r} must be a boolean, got {value!r}")
            elif isinstance(current, int) and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueError(f"config switch {key!r} must be an integer, got {value!r}")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> SandboxConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown sandbox config option(s): {', '.join(unknown)}")
        return cls(**kwargs)
