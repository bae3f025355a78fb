"""Wait until a sandbox answers; with --churn, simulate a day of activity in the demo company."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--churn", action="store_true")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            with urllib.request.urlopen(f"{args.base_url}/_admin/stats", timeout=2):  # noqa: S310 (loopback URL from the caller)
                break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                print(f"sandbox at {args.base_url} did not start", file=sys.stderr)
                return 1
            time.sleep(0.2)
    if args.churn:
        body = json.dumps({"company": "demo-no", "creates": 5, "updates": 12, "deletes": 0}).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback URL from the caller)
            f"{args.base_url}/_admin/churn", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            changes = json.load(response)
        summary = ", ".join(
            f"{name} +{len(c['created'])} ~{len(c['updated'])} -{len(c['deleted'])}"
            for name, c in sorted(changes.items())
        )
        print(f"simulated activity in the demo company (created ~updated -deleted): {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
