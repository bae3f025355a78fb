"""Typed errors for the eAccounting API, and the one place that maps HTTP responses to them.

The API answers errors with ``{ErrorCode, DeveloperErrorMessage, ErrorId, Errors[]}``
(``CommonExtendedBadRequest``). 401/403 bodies carry an exception-prefixed
``DeveloperErrorMessage`` ("AuthorizationException - ...", ErrorCode 4005) and no ``Errors``;
404s often have no body at all. ``str(error)`` always carries what Visma support asks for
(ErrorId, ErrorCode, client_id) plus the message and method + path, and never a token: nothing
here reads request headers, and query strings are dropped from the path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests

from eaccounting_api import spec

# "API calls quota exceeded! maximum admitted 600 per Minute. Try again in NN seconds."
TRY_AGAIN_RE = re.compile(r"try again in\s+(\d+(?:\.\d+)?)\s*second", re.IGNORECASE)
RATE_LIMIT_ERROR_CODE = 4010
CONFLICT_ERROR_CODE = 4000
NO_ACCESS_TO_SCOPES_ERROR_CODE = 4006
# 403 codes that are about the company, not the token's scopes (docs/API_FACTS.md#error-codes).
NON_SCOPE_403_CODES = frozenset({4003, 4004, 4034})

# The same steps for the tap and the target (the target's Meltano commands run `tap-eaccounting auth` with
# the target's settings and write scopes); README "Use it in your own Meltano project".
REAUTH_HOW = (
    "The tenant must re-authorize this integration. In Meltano: run "
    "`meltano invoke tap-eaccounting:auth-url` (or `target-eaccounting:auth-url`, which asks for the "
    "write scopes, when target-eaccounting uses these tokens), open the printed URL and sign in as the "
    "tenant, then run `meltano invoke tap-eaccounting:auth-exchange --code CODE` (or "
    "`target-eaccounting:auth-exchange --code CODE`). Without Meltano: `tap-eaccounting auth url --config "
    "CONFIG` (with `--write` for the target), then `tap-eaccounting auth exchange --config CONFIG --code "
    "CODE`. The new tokens go to the token store (token_store_path), which tap and target of one grant share."
)


class ReportedError(Exception):
    """What every error of this package carries: the API's ErrorId, ErrorCode and messages, the
    request (method and path, never the query string) and the client_id; never a token."""

    default_summary = "eAccounting API error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error_code: int | str | None = None,
        error_id: str | None = None,
        developer_message: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        method: str | None = None,
        path: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.summary = message or self.default_summary
        self.status = status
        self.error_code = error_code
        self.error_id = error_id
        self.developer_message = developer_message
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors or ()]
        self.method = method
        self.path = path
        self.client_id = client_id
        super().__init__(self.summary)

    def details(self) -> list[str]:
        parts: list[str] = []
        if self.method or self.path:
            parts.append(f"request={self.method or '?'} {self.path or '?'}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.error_code is not None:
            parts.append(f"ErrorCode={self.error_code}")
        if self.error_id:
            parts.append(f"ErrorId={self.error_id}")
        if self.developer_message:
            parts.append(f"DeveloperErrorMessage={self.developer_message!r}")
        for item in self.errors:
            field = item.get("Field")
            parts.append(
                f"Errors[{field or '-'}]: {item.get('Message') or ''} (ErrorCode {item.get('ErrorCode')})"
            )
        if self.client_id:
            parts.append(f"client_id={self.client_id}")
        return parts

    def __str__(self) -> str:
        details = self.details()
        return f"{self.summary} ({'; '.join(details)})" if details else self.summary

    def as_dict(self) -> dict[str, Any]:
        """The fields a reject file or a support ticket needs (no secrets by construction)."""
        return {
            "status": self.status,
            "ErrorCode": self.error_code,
            "ErrorId": self.error_id,
            "DeveloperErrorMessage": self.developer_message,
            "Errors": self.errors,
            "method": self.method,
            "path": self.path,
            "client_id": self.client_id,
        }


class EAccountingError(ReportedError):
    """Base of the per-request errors: one request (so one record) failed, the run can go on.

    Per-record handlers catch this class. Conditions that end the whole run derive from
    ``FatalError`` instead, so no handler of a record can swallow them by accident."""


class FatalError(ReportedError):
    """The run cannot go on (no usable grant, no usable token store). Never caught per record."""

    exit_code = 1


class BadRequestError(EAccountingError):
    default_summary = "eAccounting rejected the request (400)"


class AuthenticationError(EAccountingError):
    default_summary = "eAccounting refused the access token (401)"


class PermissionDeniedError(EAccountingError):
    default_summary = "eAccounting denied access (403)"

    def __init__(self, message: str | None = None, *, missing_scopes: Sequence[str] = (), **kw: Any) -> None:
        self.missing_scopes = tuple(missing_scopes)
        super().__init__(message, **kw)


class NotFoundError(EAccountingError):
    default_summary = "eAccounting object not found (404)"


class ConflictError(EAccountingError):
    default_summary = "eAccounting reports a conflict: the object already exists (409/4000)"


class RateLimitError(EAccountingError):
    default_summary = "eAccounting rate limit exceeded (429)"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(EAccountingError):
    default_summary = "eAccounting server error (5xx)"


class ReauthorizationRequired(FatalError):
    """The grant is dead (refresh ``invalid_grant``, or a 401 with a fresh token). CLIs exit 2."""

    default_summary = "eAccounting authorization is no longer valid"
    exit_code = 2

    def __str__(self) -> str:
        return f"{super().__str__()}. {REAUTH_HOW}"


class AmbiguousWriteError(EAccountingError):
    """A non-idempotent request may or may not have taken effect (timeout, reset, 5xx after send).

    It was not re-sent. The caller must look the object up before deciding to write again.
    """

    default_summary = "outcome of a write request is unknown; it was NOT re-sent"


class TruncatedBodyError(EAccountingError):
    """A response arrived complete as far as HTTP knows (status, headers, as many bytes as its
    Content-Length announced) but its body does not decode: cut short on the way. The policy retries
    it like a reset for reads; for a non-idempotent write it becomes an ``AmbiguousWriteError``."""

    default_summary = "eAccounting sent a response body that does not decode (truncated?)"

    def __init__(self, message: str | None = None, *, received_bytes: int | None = None, **kw: Any) -> None:
        self.received_bytes = received_bytes
        super().__init__(message, **kw)


class TransportError(EAccountingError):
    """Timeouts, connection failures and bodies cut off mid-transfer that outlasted the retry policy."""

    default_summary = "could not reach eAccounting"


class TokenStoreError(FatalError):
    default_summary = "token store is unreadable"


STATUS_TO_ERROR: dict[int, type[EAccountingError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class_for(status: int, error_code: object = None) -> type[EAccountingError]:
    """The single status -> exception mapping (ErrorCode 4000 is a conflict whatever the status)."""
    if error_code == CONFLICT_ERROR_CODE and status < 500:
        return ConflictError
    if error_code == RATE_LIMIT_ERROR_CODE:
        return RateLimitError
    if status >= 500:
        return ServerError
    return STATUS_TO_ERROR.get(status, EAccountingError)


def parse_retry_after(response: requests.Response | None, developer_message: str | None) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` if ever present, else the 4010 body's "Try again in N"."""
    if response is not None:
        header = response.headers.get("Retry-After")
        if header:
            try:
                return max(0.0, float(header.strip()))
            except ValueError:
                pass  # an HTTP-date Retry-After; fall through to the body, then to backoff
    if developer_message:
        match = TRY_AGAIN_RE.search(developer_message)
        if match:
            return float(match.group(1))
    return None


@cache
def _templates() -> tuple[tuple[re.Pattern[str], str, int], ...]:
    found = []
    for template in spec.load()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        literal = len(re.sub(r"\{[^/]+?\}", "", template))
        found.append((re.compile(f"^{pattern}$", re.IGNORECASE), template, literal))
    # Most literal first, so /accounts/standardaccounts wins over /accounts/{fiscalyearId}.
    found.sort(key=lambda item: -item[2])
    return tuple(found)


@lru_cache(maxsize=4096)
def spec_path(path: str) -> str | None:
    """The spec template for a concrete API path (``/v2`` prefix and query ignored), or None."""
    bare = urlsplit(path).path
    if bare.lower().startswith("/v2/") or bare.lower() == "/v2":
        bare = bare[3:] or "/"
    bare = bare.rstrip("/") or "/"
    for pattern, template, _ in _templates():
        if pattern.match(bare):
            return template
    return None


def _scope_preference(method: str, scope: str) -> tuple[int, str]:
    # For reads, the _readonly scope is the least privilege that works.
    readonly = scope.endswith("_readonly")
    return (0 if readonly == (method.upper() == "GET") else 1, scope)


def required_scopes(method: str, path: str) -> list[str]:
    """Scopes that allow ``method path`` (any one suffices), least privilege first."""
    template = spec_path(path)
    if template is None:
        return []
    listed = spec.scopes(method, template)
    if method.upper() not in ("GET", "HEAD"):
        # Some writes list a _readonly scope (docs/API_FACTS.md#oauth-code-flow-and-scopes);
        # a write never works with a read-only scope.
        listed = list(dict.fromkeys(s.removesuffix("_readonly") for s in listed))
    return sorted(listed, key=lambda s: _scope_preference(method, s))


def _is_scope_denial(error_code: object, developer_message: str | None) -> bool:
    if error_code == NO_ACCESS_TO_SCOPES_ERROR_CODE:
        return True
    if error_code in NON_SCOPE_403_CODES:
        return False
    return "scope" in (developer_message or "").lower()


def _body(response: requests.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def request_path(response: requests.Response) -> str:
    """Path of the request behind ``response``, without query string (which never holds secrets,
    but can be long); used in messages."""
    url = response.request.url if response.request is not None else response.url
    return urlsplit(url or "").path


def error_from_response(
    response: requests.Response, *, client_id: str | None, path: str | None = None
) -> EAccountingError:
    """Build the typed error for a non-2xx ``response`` (does not raise it)."""
    body = _body(response)
    method = (response.request.method if response.request is not None else None) or "?"
    path = path or request_path(response)
    error_code = body.get("ErrorCode")
    developer_message = body.get("DeveloperErrorMessage")
    if developer_message is None and not body and response.text and response.status_code >= 500:
        developer_message = response.text[:300]
    common: dict[str, Any] = {
        "status": response.status_code,
        "error_code": error_code,
        "error_id": body.get("ErrorId"),
        "developer_message": developer_message,
        "errors": body.get("Errors") or (),
        "method": method,
        "path": path,
        "client_id": client_id,
    }
    cls = error_class_for(response.status_code, error_code)
    if cls is RateLimitError:
        wait = parse_retry_after(response, developer_message)
        return RateLimitError(retry_after=wait, **common)
    if cls is PermissionDeniedError and _is_scope_denial(error_code, developer_message):
        scopes = required_scopes(method, path)
        if scopes:
            message = (
                f"the access token lacks the OAuth scope for {method} {spec_path(path)}: add "
                f"`{scopes[0]}` (any one of {', '.join(scopes)} is accepted) to the authorized scopes, "
                "then re-authorize with `tap-eaccounting auth url` and `auth exchange --code`"
            )
            return PermissionDeniedError(message, missing_scopes=scopes, **common)
    return cls(**common)
