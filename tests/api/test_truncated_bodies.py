"""Bodies cut short, without HTTP: how the retry policy classifies them, and the client's parse step.

A body can be cut two ways. Mid-transfer (fewer bytes than Content-Length, or a broken chunk): requests
raises ``ChunkedEncodingError``, which is not a ``ConnectionError``. Or invisibly to HTTP (as many bytes
as announced, but not decodable): only the parse step notices, and raises ``TruncatedBodyError``. Both
are retried for reads and make a write ambiguous (never re-sent).
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Sequence
from typing import Any

import pytest
import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter

from eaccounting_api import paging
from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.errors import AmbiguousWriteError, TransportError, TruncatedBodyError
from eaccounting_api.ratelimit import RateLimiter
from eaccounting_api.retry import RetryPolicy

API = "http://api.test/v2"
PAGE = b'{"Meta": {"CurrentPage": 1, "PageSize": 2, "TotalNumberOfPages": 1, "TotalNumberOfResults": 2}, "Data": [{"Id": "a"}, {"Id": "b"}]}'  # noqa: E501
CUT = PAGE[: len(PAGE) // 2]


# -- the policy alone -------------------------------------------------------------------------------
def scripted(outcomes: list[BaseException | str], calls: list[int]) -> Any:
    def fn() -> str:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return fn


def chunked_error() -> requests.exceptions.ChunkedEncodingError:
    """What requests raises when the connection closes before Content-Length bytes arrived."""
    cause = urllib3.exceptions.IncompleteRead(13, 87)
    return requests.exceptions.ChunkedEncodingError(
        urllib3.exceptions.ProtocolError(f"Connection broken: {cause!r}", cause)
    )


@pytest.mark.parametrize(
    "cut",
    [
        chunked_error(),
        urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead"),
        http.client.IncompleteRead(b"{", 10),
        TruncatedBodyError(received_bytes=11, status=200),
    ],
    ids=["ChunkedEncodingError", "ProtocolError", "IncompleteRead", "TruncatedBodyError"],
)
def test_a_read_cut_short_is_retried(cut: BaseException) -> None:
    slept: list[float] = []
    seen: list[BaseException] = []
    policy = RetryPolicy(max_tries=3, base_delay=0.5, max_delay=0.5, sleep=slept.append)
    policy.listeners.append(lambda exc, wait, attempt: seen.append(exc))
    calls: list[int] = []
    assert policy.call(scripted([cut, "page"], calls), method="GET", path="/customers") == "page"
    assert len(calls) == 2
    assert seen == [cut]
    assert len(slept) == 1
    assert 0 <= slept[0] <= 0.5


@pytest.mark.parametrize(
    "cut",
    [chunked_error(), TruncatedBodyError(received_bytes=11, status=201)],
    ids=["ChunkedEncodingError", "TruncatedBodyError"],
)
def test_a_write_cut_short_is_ambiguous_and_not_resent(cut: BaseException) -> None:
    policy = RetryPolicy(sleep=lambda s: None)
    calls: list[int] = []
    with pytest.raises(AmbiguousWriteError) as info:
        policy.call(scripted([cut, "created"], calls), method="POST", path="/customers", client_id="c")
    assert len(calls) == 1
    assert info.value.__cause__ is cut
    assert "NOT re-sent" in str(info.value)
    assert "POST /customers" in str(info.value)


def test_an_idempotent_write_cut_short_is_resent() -> None:
    policy = RetryPolicy(sleep=lambda s: None)
    calls: list[int] = []
    outcomes: list[BaseException | str] = [TruncatedBodyError(status=200), chunked_error(), "updated"]
    assert policy.call(scripted(outcomes, calls), method="PUT", path="/customers/1") == "updated"
    assert len(calls) == 3


def test_cuts_that_outlast_the_budget_end_as_typed_errors() -> None:
    policy = RetryPolicy(max_tries=3, sleep=lambda s: None)
    calls: list[int] = []
    with pytest.raises(TransportError, match="ChunkedEncodingError after 3 tries") as info:
        policy.call(scripted([chunked_error()] * 3, calls), method="GET", path="/units", client_id="c")
    assert isinstance(info.value.__cause__, requests.exceptions.ChunkedEncodingError)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(TruncatedBodyError):
        policy.call(scripted([TruncatedBodyError(status=200)] * 3, calls), method="GET", path="/units")
    assert len(calls) == 3


# -- the client, on a scripted transport ------------------------------------------------------------
Step = tuple[int, bytes, int] | BaseException  # (status, body bytes sent, Content-Length announced)


class ScriptedTransport(BaseAdapter):
    """Answers each request with the next step; the body is read through urllib3 as from a socket, so a
    Content-Length longer than the bytes sent fails exactly as a connection closed mid-body does."""

    def __init__(self, steps: Sequence[Step]) -> None:
        super().__init__()
        self.steps = list(steps)
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(f"{request.method} {request.path_url}")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        status, body, length = step
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers={"Content-Type": "application/json", "Content-Length": str(length)},
            status=status,
            preload_content=False,
            enforce_content_length=True,
        )
        return HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


class NoAuth(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def client_on(steps: Sequence[Step]) -> tuple[EAccountingClient, ScriptedTransport, list[BaseException]]:
    seen: list[BaseException] = []
    policy = RetryPolicy(max_tries=3, sleep=lambda s: None)
    policy.listeners.append(lambda exc, wait, attempt: seen.append(exc))
    client = EAccountingClient(
        API, NoAuth(), timeout=5, user_agent="test", limiter=RateLimiter(10_000), retry=policy, client_id="c"
    )
    transport = ScriptedTransport(steps)
    client.session.mount("http://", transport)
    return client, transport, seen


def test_get_json_reads_a_body_cut_mid_transfer_again() -> None:
    client, transport, seen = client_on([(200, CUT, len(PAGE)), (200, PAGE, len(PAGE))])
    assert client.get_json("/customers")["Data"] == [{"Id": "a"}, {"Id": "b"}]
    assert len(transport.sent) == 2
    assert [type(e) for e in seen] == [requests.exceptions.ChunkedEncodingError]
    assert client.stats["retries"] == 1
    assert client.stats["incomplete_bodies"] == 1


def test_get_json_reads_a_body_that_does_not_decode_again() -> None:
    client, transport, seen = client_on([(200, CUT, len(CUT)), (200, PAGE, len(PAGE))])
    assert client.get_json("/customers")["Data"] == [{"Id": "a"}, {"Id": "b"}]
    assert len(transport.sent) == 2
    [error] = seen
    assert isinstance(error, TruncatedBodyError)
    assert error.received_bytes == len(CUT)
    assert f"({len(CUT)} bytes)" in str(error)
    assert "request=GET /customers" in str(error)
    assert "client_id=c" in str(error)
    assert client.stats["incomplete_bodies"] == 1


def test_a_page_decoder_runs_inside_the_retry() -> None:
    """The tap's parse step: ``decode_page`` raises ValueError on a cut envelope; it is fetched again."""
    client, transport, seen = client_on([(200, CUT, len(CUT)), (200, PAGE, len(PAGE))])
    page = client.request(
        "GET", "/customers", parse=lambda r: paging.decode_page(r.content, "GET /customers")
    )
    assert [item["Id"] for item in page.data] == ["a", "b"]
    assert len(transport.sent) == 2
    assert isinstance(seen[0], TruncatedBodyError)
    assert isinstance(seen[0].__cause__, ValueError)


def test_a_body_that_never_decodes_fails_after_the_budget() -> None:
    client, transport, _ = client_on([(200, CUT, len(CUT))] * 3)
    with pytest.raises(TruncatedBodyError):
        client.get_json("/customers")
    assert len(transport.sent) == 3
    assert client.stats["error_TruncatedBodyError"] == 1


@pytest.mark.parametrize("announced", [len(PAGE), len(CUT)], ids=["mid-transfer", "does-not-decode"])
def test_post_cut_short_is_ambiguous_and_sent_once(announced: int) -> None:
    client, transport, seen = client_on([(201, CUT, announced), (201, PAGE, len(PAGE))])
    with pytest.raises(AmbiguousWriteError) as info:
        client.post_json("/customers", {"Name": "x"})
    assert transport.sent == ["POST /v2/customers"]
    assert seen == []
    assert "NOT re-sent" in str(info.value)


def test_put_cut_short_is_resent() -> None:
    client, transport, _ = client_on([(200, CUT, len(CUT)), (200, CUT, len(PAGE)), (200, b"{}", 2)])
    assert client.put_json("/customers/1", {"Name": "x"}) == {}
    assert len(transport.sent) == 3


def test_an_empty_write_answer_is_not_a_cut() -> None:
    client, transport, seen = client_on([(204, b"", 0)])
    assert client.post_json("/customerinvoices/1/convert", None) is None
    assert seen == []
    assert len(transport.sent) == 1
