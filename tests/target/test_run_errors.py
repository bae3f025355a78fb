"""Which errors stop the run (and with which exit code and lines), without HTTP: the identity server
refusing the client, an unreachable host, an ``api_url`` that is not the eAccounting API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import requests

from eaccounting_api.errors import (
    REAUTH_HOW,
    AuthenticationError,
    EAccountingError,
    NotFoundError,
    PermissionDeniedError,
    ReauthorizationRequired,
    ServerError,
    TokenStoreError,
    TransportError,
)
from eaccounting_api.oauth import TOKEN_PATH
from target_eaccounting import run_errors
from target_eaccounting.api import Api
from target_eaccounting.record_errors import TooManyFailedRecordsError, UnknownStreamError

API_URL = "https://api.example.test/v2"
IDENTITY_URL = "https://identity.example.test"


def stopping(exc: EAccountingError) -> run_errors.RunStopped | None:
    return run_errors.stopping_error(exc, api_url=API_URL, identity_url=IDENTITY_URL)


def transport_error(path: str) -> TransportError:
    refused = requests.ConnectionError(
        "HTTPConnectionPool(host='api.example.test', port=443): Max retries exceeded (Caused by "
        "NewConnectionError('<HTTPSConnection>: Failed to establish a new connection: [Errno 111] "
        "Connection refused'))"
    )
    try:
        raise TransportError("ConnectionError after 8 tries", method="GET", path=path) from refused
    except TransportError as exc:
        return exc


def test_an_unreachable_api_names_its_host_and_the_reason() -> None:
    stop = stopping(transport_error("/customers"))
    assert isinstance(stop, run_errors.Unreachable)
    assert stop.exit_code == run_errors.EXIT_UNREACHABLE == 4
    assert "api.example.test" in stop.summary
    assert "Connection refused" in stop.summary
    assert "api_url" in stop.hint


def test_an_unreachable_identity_server_names_its_host() -> None:
    stop = stopping(transport_error(TOKEN_PATH))
    assert isinstance(stop, run_errors.Unreachable)
    assert "identity.example.test" in stop.summary
    assert "identity_url" in stop.hint


@pytest.mark.parametrize("code", ["invalid_client", "unauthorized_client"])
def test_refused_client_credentials_stop_the_run(code: str) -> None:
    refused = AuthenticationError("refused", status=401, error_code=code, path=TOKEN_PATH, client_id="me")
    stop = stopping(refused)
    assert isinstance(stop, run_errors.ClientRefused)
    assert stop.exit_code == run_errors.EXIT_FATAL == 1
    assert "identity.example.test" in stop.summary
    assert "'me'" in stop.summary
    assert "client_secret" in stop.hint


def test_other_token_endpoint_failures_stop_the_run_too() -> None:
    assert isinstance(stopping(ServerError(status=503, path=TOKEN_PATH)), run_errors.Unreachable)
    assert isinstance(stopping(EAccountingError(status=400, path=TOKEN_PATH)), run_errors.ClientRefused)


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError(status=404, method="GET", path="/customerinvoices/x"),
        PermissionDeniedError(status=403, method="POST", path="/customers"),
        ServerError(status=500, method="GET", path="/customers"),
    ],
)
def test_errors_of_one_request_do_not_stop_the_run(error: EAccountingError) -> None:
    assert stopping(error) is None


def test_known_errors_print_one_or_two_lines_with_their_exit_code() -> None:
    reauth = ReauthorizationRequired("identity rejected the refresh token", status=400, path=TOKEN_PATH)
    assert run_errors.report_lines(reauth)[1] == REAUTH_HOW
    assert "tap-eaccounting auth url" in REAUTH_HOW
    assert "tap-eaccounting auth exchange" in REAUTH_HOW
    assert run_errors.report_lines(reauth)[0].startswith("identity rejected the refresh token (")
    cases: list[tuple[BaseException, int]] = [
        (reauth, 2),
        (TokenStoreError("token store is unreadable"), 1),
        (TooManyFailedRecordsError("3 record(s) rejected"), 3),
        (UnknownStreamError("cannot write stream 'orders'"), 1),
        (run_errors.wrong_api_url(API_URL, "GET /customers answered 404"), 1),
    ]
    for exc, code in cases:
        assert isinstance(exc, run_errors.KNOWN_ERRORS)
        assert run_errors.exit_code(exc) == code
        lines = run_errors.report_lines(exc)
        assert 1 <= len(lines) <= 2
        assert all("\n" not in line for line in lines)


class Answers:
    """A client answering each path with a response or an error, and recording the requests."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.sent: list[str] = []

    def request(self, method: str, path: str, *, parse: Any = None, **_: Any) -> Any:
        self.sent.append(f"{method} {path}")
        answer = self.answers[path]
        if isinstance(answer, BaseException):
            raise answer
        return parse(answer) if parse is not None else answer


class Body:
    status_code = 200

    def __init__(self, content: bytes, content_type: str = "application/json") -> None:
        self.content = content
        self.headers = {"Content-Type": content_type}

    def json(self) -> Any:
        return json.loads(self.content)


def api(answers: Mapping[str, Any]) -> tuple[Api, Answers]:
    client = Answers(answers)
    return Api(client, api_url=API_URL, identity_url=IDENTITY_URL), client


def not_found(path: str) -> NotFoundError:
    return NotFoundError(status=404, error_code=3000, error_id="e", method="GET", path=path)


def test_a_404_on_a_collection_means_the_api_url_is_wrong() -> None:
    client_api, _ = api({"/customers": not_found("/customers")})
    with pytest.raises(
        run_errors.WrongApiUrl, match=r"example.test/v2 does not answer like the eAccounting API v2"
    ):
        client_api.list("/customers")


def test_a_first_404_on_an_object_asks_its_collection_once() -> None:
    wrong, client = api(
        {"/customerinvoices/x": not_found("/customerinvoices/x"), "/customerinvoices": not_found("")}
    )
    with pytest.raises(run_errors.WrongApiUrl):
        wrong.get("/customerinvoices/x")
    assert client.sent == ["GET /customerinvoices/x", "GET /customerinvoices"]

    right, client = api(
        {"/customerinvoices/x": not_found("/customerinvoices/x"), "/customerinvoices": Body(b"{}")}
    )
    with pytest.raises(NotFoundError):
        right.get("/customerinvoices/x")
    with pytest.raises(NotFoundError):  # the API has answered: a missing object is just missing
        right.get("/customerinvoices/x")
    assert client.sent == ["GET /customerinvoices/x", "GET /customerinvoices", "GET /customerinvoices/x"]


def test_a_body_that_is_not_json_means_the_api_url_is_wrong() -> None:
    html, _ = api({"/customers": Body(b"<html>sign in</html>", "text/html")})
    with pytest.raises(run_errors.WrongApiUrl, match="answered 200 with text/html, not JSON"):
        html.list("/customers")


def test_transport_and_identity_errors_stop_the_run_through_the_api() -> None:
    unreachable, _ = api({"/customers": transport_error("/customers")})
    with pytest.raises(run_errors.Unreachable) as stopped:
        unreachable.list("/customers")
    assert isinstance(stopped.value.__cause__, TransportError)
    refused = AuthenticationError(status=401, error_code="invalid_client", path=TOKEN_PATH)
    with pytest.raises(run_errors.ClientRefused):
        api({"/customers": refused})[0].post("/customers", {})
