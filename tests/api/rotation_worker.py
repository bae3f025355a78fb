"""Run by test_oauth_http in a subprocess: hammer the API through a shared token store.

    python tests/api/rotation_worker.py CONFIG_JSON REQUESTS THREADS

Prints one JSON line: requests that succeeded, token refreshes this process made, errors seen.
Exit status 0 only if every request succeeded.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from eaccounting_api.connection import client_from_config
from eaccounting_api.errors import EAccountingError


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    per_thread, threads = int(sys.argv[2]), int(sys.argv[3])
    client = client_from_config(config, max_concurrency=threads)
    ok: list[int] = []
    errors: list[str] = []

    def work() -> None:
        for _ in range(per_thread):
            try:
                client.get_json("/customers", params={"$pagesize": 1})
                ok.append(1)
            except EAccountingError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    refreshes = client.authenticator.refreshes
    print(json.dumps({"ok": len(ok), "refreshes": refreshes, "errors": errors[:5]}))
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
