"""Overhead of the shared client (limiter + authenticator + retry + error mapping) over a bare
requests.Session, against a local sandbox with the rate limit off. Prints numbers, never asserts.

    .venv/bin/python bench/bench_client.py [REQUESTS] [THREADS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from eaccounting_api.connection import client_from_config
from eaccounting_sandbox.server import SandboxServer


def timed(label: str, n: int, threads: int, call: object) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: call(), range(n)))  # type: ignore[operator]
    rate = n / (time.perf_counter() - started)
    print(f"{label:<28} {rate:8.0f} req/s  ({n} requests, {threads} threads)")
    return rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with (
        SandboxServer(validate_responses=False, rate_limit_per_minute=0) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        minted = sandbox.mint_tokens("demo-no", ["ea:api", "offline_access", "ea:sales_readonly"])
        config = {
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": minted["refresh_token"],
            "token_store_path": str(Path(tmp) / "tokens.json"),
            "api_url": sandbox.api_url,
            "identity_url": sandbox.identity_url,
        }
        client = client_from_config(config, max_concurrency=threads)
        client.limiter.per_minute = 10**9
        params = {"$pagesize": 1}
        client.authenticator.update_access_token()
        token = client.authenticator.access_token
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=threads + 2)
        session.mount("http://", adapter)
        headers = {"Authorization": f"Bearer {token}"}
        url = sandbox.api_url + "/customers"

        def bare() -> object:
            response = session.get(url, params=params, headers=headers, timeout=10)
            response.raise_for_status()
            return response.json()

        timed("warm-up", 200, threads, bare)
        raw = timed("bare requests.Session", n, threads, bare)
        ours = timed(
            "EAccountingClient.get_json", n, threads, lambda: client.get_json("/customers", params=params)
        )
        print(f"ratio client/bare: {ours / raw:.2f}   client stats: {dict(client.stats)}")


if __name__ == "__main__":
    main()
