"""The switches of one sandbox (CLI flags, ``SandboxServer(**config)``, ``/_admin/config``) and its profiles.

Every API behaviour the project could not verify against the live service
(docs/API_FACTS.md#unverified-assumptions) is a switch in :class:`Switches`, so tests can play each
plausible real behaviour. Defaults are the sandbox's best guess ("strict_odata": OData honoured, sizes
clamped and reported). Any behaviour switch can be overridden per endpoint with ``endpoint_switches``,
keyed by a spec path template or a path prefix (``{"/customerinvoices": {"filter_mode": "ignored"}}``);
the longest matching key wins. A profile (:data:`PROFILES`) sets several switches at once. README.md,
"Switches and profiles", documents each switch and profile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_COMPANY = "demo-no"
DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the demo client's public, documented secret
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
INT32_MAX = 2**31 - 1

MODES = ("honoured", "ignored", "refused")
PAGE_SIZE_ENFORCEMENTS = ("clamp_report", "clamp_echo", "reject")
PAGE_SIZE_WORDINGS = ("pagesize", "odata_top", "range")
PAST_LAST_PAGE = ("empty", "error")
EXTRA_PROPERTIES = ("none", "top", "nested", "both")
DATE_SHAPES = ("spec", "date_only", "offset", "no_z", "seven_digits", "mixed")
SCOPE_CODES = (4006, 4011)
MAX_STAMP_LAG = 86_400  # seconds, either way


def _switch(default: Any, choices: tuple[Any, ...] | None = None) -> Any:
    return field(default=default, metadata={"choices": choices})


@dataclass
class Switches:
    """The API behaviours that are unverified; each may differ per endpoint (see the module doc)."""

    shuffle_unordered: bool = _switch(False)
    filter_mode: str = _switch("honoured", MODES)
    orderby_mode: str = _switch("honoured", MODES)
    max_page_size: int = _switch(MAX_PAGE_SIZE)
    page_size_enforcement: str = _switch("clamp_report", PAGE_SIZE_ENFORCEMENTS)
    page_size_error_wording: str = _switch("pagesize", PAGE_SIZE_WORDINGS)
    empty_total_pages: int = _switch(0, (0, 1))
    past_last_page: str = _switch("empty", PAST_LAST_PAGE)
    extra_properties: str = _switch("none", EXTRA_PROPERTIES)
    date_shapes: str = _switch("spec", DATE_SHAPES)
    missing_scope_code: int = _switch(4006, SCOPE_CODES)
    # UNVERIFIED: a row churned (``churn``) becomes visible up to this many seconds after the instant
    # its ``ModifiedUtc``/``ChangedUtc``/``CreatedUtc`` says (a seeded share of it per row: a late
    # commit, replication lag, or skew between the node answering ``ServerTimeUtc`` and the database's
    # clock), so it may show up stamped before the ``ServerTimeUtc`` of a response served earlier.
    # Negative: stamped up to that many seconds *ahead* of the moment it becomes visible (the skew the
    # other way). Per endpoint, by the churned collection's path (``/customerinvoices``).
    stamp_lag_seconds: int = _switch(0)

    @property
    def drifts(self) -> bool:
        """Whether response bodies deviate from the spec on purpose (so validate the undeviated body)."""
        return self.extra_properties != "none" or self.date_shapes != "spec"


BEHAVIOUR_SWITCHES = tuple(f.name for f in fields(Switches))
_DEFAULTS = Switches()
# Old switch names that map onto a new switch: True -> the value, False -> the default.
ALIASES = {"reject_oversize_page": ("page_size_enforcement", "reject")}


@dataclass(frozen=True)
class Profile:
    about: str
    switches: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)  # same shape as POST /_admin/faults


DEFAULT_PROFILE = "strict_odata"
PROFILES: dict[str, Profile] = {
    "strict_odata": Profile("everything honoured, sizes clamped and reported (the default)"),
    "filter_ignored": Profile("$filter has no effect", {"filter_mode": "ignored"}),
    "filter_refused": Profile("$filter is a 400", {"filter_mode": "refused"}),
    "orderby_ignored": Profile("$orderby has no effect", {"orderby_mode": "ignored"}),
    "orderby_refused": Profile("$orderby is a 400", {"orderby_mode": "refused"}),
    "unstable_order": Profile(
        "without $orderby each request sees another order", {"shuffle_unordered": True}
    ),
    "page_cap_500_echo": Profile(
        "at most 500 per page, Meta.PageSize echoes the size asked",
        {"max_page_size": 500, "page_size_enforcement": "clamp_echo"},
    ),
    "page_cap_100_reject_odata": Profile(
        "above 100 per page a 400 in ASP.NET OData's MaxTop wording",
        {"max_page_size": 100, "page_size_enforcement": "reject", "page_size_error_wording": "odata_top"},
    ),
    "page_cap_50_clamp": Profile("at most 50 per page, reported", {"max_page_size": 50}),
    "meta_lies": Profile(
        "Meta.PageSize echoes the size asked above a cap of 100; an empty list claims 1 page",
        {"max_page_size": 100, "page_size_enforcement": "clamp_echo", "empty_total_pages": 1},
    ),
    "legacy_iis": Profile(
        "$filter ignored, $orderby refused, 500 per page echoed, 400 past the last page",
        {
            "filter_mode": "ignored",
            "orderby_mode": "refused",
            "max_page_size": 500,
            "page_size_enforcement": "clamp_echo",
            "past_last_page": "error",
        },
    ),
    "drifted_schema": Profile(
        "undeclared properties at every level, date-times in mixed shapes",
        {"extra_properties": "both", "date_shapes": "mixed"},
    ),
    "scope_4011": Profile("a missing scope answers 4011 instead of 4006", {"missing_scope_code": 4011}),
    "flaky_bodies": Profile(
        "a fifth of GET responses carry half their JSON", faults={"truncate_rate": 0.2, "seed": 1}
    ),
}

# Switches that /_admin/config may change while the server runs (``profile`` applies one first).
RUNTIME_SWITCHES = (
    "profile",
    *BEHAVIOUR_SWITCHES,
    "endpoint_switches",
    "rate_limit_per_minute",
    "rate_limit_scope",
    "rate_limit_methods",
    "access_token_ttl",
    "validate_responses",
)

CHOICES = {"rate_limit_scope": ("client", "client_company"), "rate_limit_methods": ("shared", "split")}


def check_switch(name: str, value: Any) -> None:
    """``ValueError`` unless ``value`` is a valid value of the behaviour switch ``name``."""
    if name not in BEHAVIOUR_SWITCHES:
        raise ValueError(f"unknown switch {name!r}; known: {', '.join(BEHAVIOUR_SWITCHES)}")
    meta = next(f for f in fields(Switches) if f.name == name).metadata
    default = getattr(_DEFAULTS, name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"switch {name!r} must be a boolean, got {value!r}")
    elif isinstance(default, int) and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"switch {name!r} must be an integer, got {value!r}")
    choices = meta["choices"]
    if choices is not None and value not in choices:
        raise ValueError(f"switch {name!r} must be one of {', '.join(map(str, choices))}; got {value!r}")
    if name == "stamp_lag_seconds" and not -MAX_STAMP_LAG <= value <= MAX_STAMP_LAG:
        raise ValueError(
            f"switch 'stamp_lag_seconds' must be between {-MAX_STAMP_LAG} and {MAX_STAMP_LAG}, got {value!r}"
        )
    if name == "max_page_size" and not 1 <= value <= INT32_MAX:
        raise ValueError(f"switch 'max_page_size' must be between 1 and {INT32_MAX}, got {value!r}")


def check_endpoint_switches(value: Any) -> None:
    """``{path or prefix: {behaviour switch: value}}``; whether a key names a spec path is the caller's
    check (``Sandbox``), so that this module stays free of the spec."""
    if not isinstance(value, dict):
        raise ValueError("endpoint_switches must be an object {path: {switch: value}}")
    for key, overrides in value.items():
        if not isinstance(key, str) or not key.startswith("/"):
            raise ValueError(
                f"endpoint_switches keys are spec paths such as '/customerinvoices', got {key!r}"
            )
        if not isinstance(overrides, dict):
            raise ValueError(f"endpoint_switches[{key!r}] must be an object of switches")
        for name, switch_value in overrides.items():
            check_switch(name, switch_value)


def profile(name: Any) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def key_matches(key: str, spec_path: str) -> bool:
    """``/customerinvoices`` matches itself and ``/customerinvoices/{id}``, not ``/customerinvoicedrafts``."""
    prefix = key.rstrip("/").lower()
    path = spec_path.lower()
    return path == prefix or path.startswith(prefix + "/") or not prefix


@dataclass
class SandboxConfig(Switches):
    seed: int = 1
    scale: float = 1.0
    companies: list[str] = field(default_factory=lambda: [DEFAULT_COMPANY])
    access_token_ttl: int = 3600
    # Requests per minute per client per endpoint; 0 disables the limit (benchmarks).
    rate_limit_per_minute: int = 600
    # Who shares one budget (UNVERIFIED): "client" (every company of the client_id, as documented)
    # or "client_company" (each company of the client its own).
    rate_limit_scope: str = "client"
    # Whether the method counts (UNVERIFIED): "shared" (GET and POST of one URL share its budget, the
    # documented "per endpoint/URL" read literally) or "split" (each method its own budget).
    rate_limit_methods: str = "shared"
    # Validate every /v2 JSON body against the spec before sending it (tests turn this on).
    validate_responses: bool = False
    # The last profile applied; switches changed later apply over it.
    profile: str = DEFAULT_PROFILE
    # {spec path or prefix: {behaviour switch: value}}, merged over the global switches.
    endpoint_switches: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Initial fault injection, same shape as POST /_admin/faults.
    faults: dict[str, Any] = field(default_factory=dict)

    def for_endpoint(self, spec_path: str) -> Switches:
        """The switches one endpoint sees: the global ones, then matching overrides, shortest key first."""
        values = {name: getattr(self, name) for name in BEHAVIOUR_SWITCHES}
        for key in sorted(self.endpoint_switches, key=len):
            if key_matches(key, spec_path):
                values.update(self.endpoint_switches[key])
        return Switches(**values)

    def apply_profile(self, name: str) -> Profile:
        """Every behaviour switch back to its default, then the profile's; returns the profile."""
        chosen = profile(name)
        for switch in BEHAVIOUR_SWITCHES:
            setattr(self, switch, getattr(_DEFAULTS, switch))
        self.endpoint_switches = {}
        for switch, value in chosen.switches.items():
            setattr(self, switch, value)
        self.profile = name
        return chosen

    def update(self, changes: dict[str, Any], allowed: tuple[str, ...] = RUNTIME_SWITCHES) -> None:
        """Apply ``changes`` (``profile`` first), all checked before any is set."""
        changes = _resolve_aliases(changes, self)
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in allowed or key not in known:
                names = ", ".join([*allowed, *ALIASES])
                raise ValueError(f"unknown or read-only config switch {key!r}; allowed: {names}")
            _check_value(key, value, getattr(self, key))
        if "profile" in changes:
            self.apply_profile(changes["profile"])
        for key, value in changes.items():
            if key != "profile":
                setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        for alias, (target, value) in ALIASES.items():
            result[alias] = result[target] == value
        return result

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> SandboxConfig:
        """Construct from keyword arguments: ``profile`` first, explicit switches over it (also faults)."""
        known = {f.name for f in fields(cls)} | set(ALIASES)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown sandbox config option(s): {', '.join(unknown)}")
        config = cls()
        name = kwargs.pop("profile", DEFAULT_PROFILE)
        chosen = config.apply_profile(name)
        kwargs = _resolve_aliases(kwargs, config)
        for key, value in kwargs.items():
            if key in BEHAVIOUR_SWITCHES or key == "endpoint_switches":
                _check_value(key, value, None)
        config.faults = {**chosen.faults, **kwargs.pop("faults", {})}
        for key, value in kwargs.items():
            setattr(config, key, value)
        return config


def _check_value(key: str, value: Any, current: Any) -> None:
    if key in CHOICES and value not in CHOICES[key]:
        raise ValueError(f"config switch {key!r} must be one of {', '.join(CHOICES[key])}")
    if key in BEHAVIOUR_SWITCHES:
        check_switch(key, value)
    elif key == "endpoint_switches":
        check_endpoint_switches(value)
    elif key == "profile":
        profile(value)
    elif isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"config switch {key!r} must be a boolean, got {value!r}")
    elif isinstance(current, int) and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"config switch {key!r} must be an integer, got {value!r}")


def _resolve_aliases(changes: dict[str, Any], config: Switches) -> dict[str, Any]:
    """Old names as their new switch: ``reject_oversize_page`` True is ``page_size_enforcement``
    "reject"; False puts "reject" back to the default (another enforcement stays)."""
    result = {k: v for k, v in changes.items() if k not in ALIASES}
    for alias, (target, value) in ALIASES.items():
        if alias not in changes:
            continue
        flag = changes[alias]
        if not isinstance(flag, bool):
            raise ValueError(f"config switch {alias!r} must be a boolean, got {flag!r}")
        if flag:
            result.setdefault(target, value)
        elif result.get(target, getattr(config, target)) == value:
            result[target] = getattr(_DEFAULTS, target)
    return result
