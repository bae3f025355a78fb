"""``SandboxServer``: the sandbox in a background thread, for pytest fixtures, benchmarks and scripts.

    with SandboxServer(seed=1) as sandbox:
        tokens = sandbox.mint_tokens("demo-no", ["ea:api", "offline_access", "ea:sales"])
        requests.get(sandbox.api_url + "/customers", headers={"Authorization": "Bearer " + ...})

It binds ``127.0.0.1`` on a free port and validates every /v2 body against the spec unless told
``validate_responses=False``; read the report with ``admin("GET", "conformance")``.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import requests
import uvicorn

from eaccounting_sandbox.app import build_app
from eaccounting_sandbox.sandbox import Sandbox
from eaccounting_sandbox.switches import DEFAULT_COMPANY, SandboxConfig
from eaccounting_sandbox.transport import FaultLayer, SandboxH11Protocol

START_TIMEOUT = 120.0  # scale=20 demo data takes a while to generate before the socket answers

# Conformance failures of every SandboxServer stopped in this process (tests/conftest.py fails the
# session on any): {"sandbox": base_url, "where", "schema", "instance_path", "message"}.
CONFORMANCE_FAILURES: list[dict[str, Any]] = []


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(256)
    sock.setblocking(False)
    return sock


def uvicorn_server(sandbox: Sandbox, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(
        FaultLayer(sandbox, build_app(sandbox)),
        http=SandboxH11Protocol,
        lifespan="off",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.host = host
        self.requested_port = port
        self.config = SandboxConfig.from_kwargs(**{"validate_responses": True, **config})
        self.sandbox: Sandbox | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        self.sandbox = Sandbox(self.config)
        sock = bind_socket(self.host, self.requested_port)
        self.port = sock.getsockname()[1]
        self._server = uvicorn_server(self.sandbox)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.base_url}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self.sandbox is not None and self.config.validate_responses:
            failures = self.sandbox.conformance.failures
            CONFORMANCE_FAILURES.extend({"sandbox": self.base_url, **f} for f in failures)
            self.sandbox.conformance.failures = []
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._session.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def identity_url(self) -> str:
        return self.base_url

    @property
    def api_url(self) -> str:
        return self.base_url + "/v2"

    @property
    def token_url(self) -> str:
        return self.base_url + "/connect/token"

    # -- admin helpers -------------------------------------------------------------------------
    def admin(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Call ``/_admin/<path>``; raises ``RuntimeError`` with the admin error on a non-2xx answer."""
        url = f"{self.base_url}/_admin/{path.lstrip('/').removeprefix('_admin/')}"
        response = self._session.request(method, url, json=json, params=params, timeout=120)
        if response.status_code >= 300:
            raise RuntimeError(f"admin {method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    def mint_tokens(
        self, company: str = DEFAULT_COMPANY, scopes: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A fresh grant: ``{"access_token", "refresh_token", "expires_in", "token_type"}``."""
        payload: dict[str, Any] = {"company": company, **extra}
        if scopes is not None:
            payload["scopes"] = scopes
        result: dict[str, Any] = self.admin("POST", "tokens", payload)
        return result

    def conformance_failures(self) -> list[dict[str, Any]]:
        failures: list[dict[str, Any]] = self.admin("GET", "conformance")["failures"]
        return failures
