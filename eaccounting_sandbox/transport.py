"""The outermost ASGI layer: fault injection, request counting, and the socket tricks faults need.

Connection resets and lost responses need the raw socket, which ASGI does not expose, so the sandbox
runs uvicorn with :class:`SandboxH11Protocol`, which puts the connection's transport into each
request's ``scope["state"]``. Aborting it with ``SO_LINGER`` 0 sends a TCP RST, as a dropped
connection on the internet looks to a client.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from eaccounting_sandbox.churn import churn
from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.faults import Decision
from eaccounting_sandbox.quota import quota_exceeded
from eaccounting_sandbox.sandbox import Sandbox

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("eaccounting_sandbox")
TRANSPORT_KEY = "sandbox.transport"
GATEWAY_PAGE = b"<html><head><title>%d</title></head><body><h1>%d %s</h1></body></html>"
GATEWAY_REASONS = {502: b"Bad Gateway", 503: b"Service Unavailable", 504: b"Gateway Timeout"}


class SandboxH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, exposing the connection's transport to the app (for resets)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Without TCP_NODELAY, uvicorn's separate header and body writes meet the client's delayed
            # ACK and every keep-alive request costs ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self.app_state = {**self.app_state, TRANSPORT_KEY: transport}


async def reset_connection(scope: Scope) -> None:
    transport = scope.get("state", {}).get(TRANSPORT_KEY)
    if transport is None:
        raise RuntimeError("connection faults need uvicorn running with SandboxH11Protocol")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let connection_lost run, so uvicorn knows the client is gone and does not try to answer.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class FaultLayer:
    def __init__(self, sandbox: Sandbox, app: ASGIApp) -> None:
        self.sandbox = sandbox
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        decision = self.sandbox.faults.decide(method, path, scope["query_string"])
        status = {"code": 0}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        if decision.delay or decision.kind or decision.churn:
            outcome = await self._faulted(decision, scope, receive, counting_send)
        else:
            await self.app(scope, receive, counting_send)
            outcome = str(status["code"])
        if not path.startswith("/_admin"):
            endpoint = scope.get("sandbox.endpoint") or f"{method} {path}"
            self.sandbox.count(endpoint, outcome if outcome != "0" else str(status["code"]))

    async def _faulted(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> str:
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.churn is not None:
            self._churn(decision)
        if decision.kind is None:
            await self.app(scope, receive, send)
            return "0"
        handler = getattr(self, f"_fault_{decision.kind}")
        outcome: str = await handler(decision, scope, receive, send)
        return outcome

    async def _fault_reset(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> str:
        await reset_connection(scope)
        return "reset"

    async def _fault_error(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> str:
        await self._send_error(decision.status, scope, receive, send)
        return str(decision.status)

    async def _fault_rate_limited(
        self, decision: Decision, scope: Scope, receive: Receive, send: Send
    ) -> str:
        seconds = self.sandbox.faults.spec.rate_limit_seconds
        limit = self.sandbox.config.rate_limit_per_minute or 600
        response = self.sandbox.error_response(quota_exceeded(limit, seconds), scope["path"])
        await response(scope, receive, send)
        return "429"

    async def _fault_slow(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> str:
        # Process (and commit) first, answer late: a client timeout then leaves a write that did
        # happen, the realistic ambiguous case.
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(self.sandbox.faults.spec.slow_seconds)
        for message in messages:
            await send(message)
        return "slow"

    async def _fault_lost_response(
        self, decision: Decision, scope: Scope, receive: Receive, send: Send
    ) -> str:
        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)  # the write commits ...
        await reset_connection(scope)  # ... and the client never hears about it
        return "lost_response"

    async def _fault_truncate(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> str:
        await self._truncated(scope, receive, send)
        return "truncated"

    def _churn(self, decision: Decision) -> None:
        fault = decision.churn
        assert fault is not None
        company = self.sandbox.companies.get(fault.company)
        if company is None:
            log.warning("churn fault names unknown company %r", fault.company)
            return
        try:
            churn(
                company,
                creates=fault.creates,
                updates=fault.updates,
                deletes=fault.deletes,
                collections=fault.collections,
                lag=lambda name: self.sandbox.config.for_endpoint(f"/{name}").stamp_lag_seconds,
            )
        # A churn bug must not turn into an unexplained failure of the page request it rides on.
        except Exception:
            log.exception("churn fault failed for company %r", fault.company)

    async def _send_error(self, status: int, scope: Scope, receive: Receive, send: Send) -> None:
        if status == 500:
            error = ApiError(500, 1000, "An unexpected error occurred. Please try again later.", [])
            response = self.sandbox.error_response(error, f"{scope['method']} {scope['path']}")
            await response(scope, receive, send)
            return
        reason = GATEWAY_REASONS.get(status, b"Error")
        body, content_type = GATEWAY_PAGE % (status, status, reason), b"text/html"
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Half the body. ``truncate_mode`` "json": a complete HTTP response whose Content-Length matches
        the cut, so only JSON parsing fails; "connection": the full Content-Length is announced and the
        connection is reset after half the bytes (the client sees an incomplete read). The request is
        processed in full first, so a truncated write has committed."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        cut = body[: max(1, len(body) // 2)]
        if self.sandbox.faults.spec.truncate_mode == "connection":
            await send(start)
            await send({"type": "http.response.body", "body": cut, "more_body": True})
            await reset_connection(scope)
            return
        headers: list[Any] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": cut})
