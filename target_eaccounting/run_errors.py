"""Errors that stop a target run, their exit codes, and the lines the CLI prints for them.

A record's own failure is a ``RecordError`` (``record_errors``): rejected, the run goes on. What would
fail every record alike stops the run at the first request instead of rejecting each record with the
same message: the identity server refuses the client credentials, the API or the identity server
cannot be reached, ``api_url`` is not the eAccounting API. Each is a ``FatalError`` (so no per-record
handler catches it) with its exit code; the README's "Exit codes" table lists them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from eaccounting_api.errors import (
    REAUTH_HOW,
    EAccountingError,
    FatalError,
    ReauthorizationRequired,
    ReportedError,
    TransportError,
    spec_path,
)
from eaccounting_api.oauth import TOKEN_PATH
from target_eaccounting.record_errors import TooManyFailedRecordsError, UnknownStreamError

EXIT_OK = 0
EXIT_FATAL = 1  # fix the config or the environment, then run again
EXIT_REAUTHORIZE = ReauthorizationRequired.exit_code  # 2
EXIT_TOO_MANY_REJECTS = 3
EXIT_UNREACHABLE = 4  # the network or the service: run again later

_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_CLIENT_REFUSED_CODES = ("invalid_client", "unauthorized_client")


class RunStopped(FatalError):
    """A condition every record would meet: the run stops. ``hint`` says what to do."""

    def __init__(self, message: str, *, hint: str, cause: ReportedError | None = None) -> None:
        super().__init__(
            message,
            status=cause.status if cause else None,
            error_code=cause.error_code if cause else None,
            client_id=cause.client_id if cause else None,
        )
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.summary}. {self.hint}"


class Unreachable(RunStopped):
    exit_code = EXIT_UNREACHABLE


class ClientRefused(RunStopped):
    exit_code = EXIT_FATAL


class WrongApiUrl(RunStopped):
    exit_code = EXIT_FATAL


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def is_collection(path: str) -> bool:
    """Whether ``path`` is a collection the spec declares (``/customers``, not ``/customers/{id}``):
    with the right ``api_url`` such a path exists, so a 404 on it means the URL is wrong."""
    template = spec_path(path)
    return template is not None and "{" not in template


def collection_of(path: str) -> str | None:
    """The collection an object path belongs to (``/customerinvoices/{id}`` → ``/customerinvoices``)."""
    first = "/" + path.strip("/").split("/")[0]
    return first if first != path and is_collection(first) else None


def transport_reason(exc: BaseException) -> str:
    """The operating system's words for a failed connection ("Connection refused", "Name or service
    not known"), else the exception's own summary."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        match = _ERRNO_RE.search(str(seen))
        if match:
            return match.group(1).strip()
        seen = seen.__cause__ or seen.__context__
    return str(exc.summary if isinstance(exc, ReportedError) else exc)


def wrong_api_url(api_url: str, what: str) -> WrongApiUrl:
    return WrongApiUrl(
        f"{api_url} does not answer like the eAccounting API v2 ({what})",
        hint="Check api_url: the API's base URL, ending in /v2 "
        "(https://eaccountingapi.vismaonline.com/v2 in production)",
    )


def stopping_error(exc: EAccountingError, *, api_url: str, identity_url: str) -> RunStopped | None:
    """The run-stopping error ``exc`` stands for, or None when it concerns one request (one record)."""
    if exc.path == TOKEN_PATH:  # the token request: every request of the run would fail alike
        if isinstance(exc, TransportError):
            return Unreachable(
                f"could not reach the identity server at {host_of(identity_url)} "
                f"(identity_url={identity_url}): {transport_reason(exc)} ({exc.summary})",
                hint="Check identity_url and the network (proxy, firewall), then run the target again",
                cause=exc,
            )
        if exc.error_code in _CLIENT_REFUSED_CODES:
            return ClientRefused(
                f"the identity server at {host_of(identity_url)} rejected the client credentials "
                f"of client_id {exc.client_id!r} ({exc.error_code})",
                hint="Check client_id and client_secret in the config: they are the app's credentials "
                "from the Visma Developer Portal",
                cause=exc,
            )
        if (exc.status or 0) >= 500:
            return Unreachable(
                f"the identity server at {host_of(identity_url)} failed the token request "
                f"(status {exc.status})",
                hint="Run the target again later",
                cause=exc,
            )
        return ClientRefused(
            f"the identity server at {host_of(identity_url)} refused the token request "
            f"(status {exc.status}, {exc.error_code or 'no error code'})",
            hint="Check client_id, client_secret and identity_url in the config",
            cause=exc,
        )
    if isinstance(exc, TransportError):
        return Unreachable(
            f"could not reach the eAccounting API at {host_of(api_url)} (api_url={api_url}): "
            f"{transport_reason(exc)} ({exc.summary})",
            hint="Check api_url and the network (proxy, firewall), then run the target again; "
            "records already written are in the ledger and are skipped",
            cause=exc,
        )
    return None


#: the errors the CLI reports in a line or two, without a traceback (unless the log level is DEBUG)
KNOWN_ERRORS = (FatalError, TooManyFailedRecordsError, UnknownStreamError)


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, FatalError):
        return exc.exit_code
    if isinstance(exc, TooManyFailedRecordsError):
        return EXIT_TOO_MANY_REJECTS
    return EXIT_FATAL


def report_lines(exc: BaseException) -> list[str]:
    """The one or two lines the CLI prints for a known error: what went wrong (and where), what to do."""
    if isinstance(exc, RunStopped):
        return [exc.summary, exc.hint]
    if isinstance(exc, ReauthorizationRequired):
        details = exc.details()
        return [f"{exc.summary} ({'; '.join(details)})" if details else exc.summary, REAUTH_HOW]
    return [str(exc)]
