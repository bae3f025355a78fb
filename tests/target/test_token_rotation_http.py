"""The target and the tap rotate one grant at the same time (one token store, short-lived tokens).

Every refresh returns a new refresh token and kills the old one, so two processes that refreshed on
their own would lock each other out (invalid_grant). Both go through the shared EAccountingAuthenticator
and its locked token store; the test proves neither process loses the grant while the other refreshes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from target_support import TargetHarness, record_message, schema_message


def test_token_rotation_while_the_tap_runs(fresh_harness: TargetHarness, tmp_path: Path) -> None:
    h = fresh_harness
    h.sandbox.admin("POST", "config", {"access_token_ttl": 1, "rate_limit_per_minute": 0})
    h.sandbox.admin("POST", "faults", {"latency_ms": 40, "methods": ["POST"]})
    customer = h.objects("customers")[0]
    article = h.objects("articles")[0]
    lines = [schema_message("customer_invoices")]
    for i in range(60):
        record = {
            "order_id": f"R-{i}",
            "CustomerId": customer["Id"],
            "InvoiceDate": "2025-10-01",
            "Rows": [{"ArticleId": article["Id"], "Quantity": 1, "UnitPrice": 10.0 + i}],
        }
        lines.append(record_message("customer_invoices", record))
    messages = tmp_path / "input.singer"
    messages.write_text("".join(line + "\n" for line in lines))
    shared = {k: h.config[k] for k in ("client_id", "client_secret", "refresh_token", "token_store_path")}
    shared |= {"api_url": h.config["api_url"], "identity_url": h.config["identity_url"]}
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(json.dumps({**shared, "start_date": "2020-01-01T00:00:00Z"}))
    target_config = tmp_path / "target.json"
    target_config.write_text(
        json.dumps(
            {**h.config, "max_concurrency": 2, "external_key_properties": {"customer_invoices": "order_id"}}
        )
    )
    bin_dir = Path(sys.executable).parent
    # The tap's log goes to a file: a pipe nobody drains until the target ends would fill up and stop it.
    tap_log = tmp_path / "tap.log"
    with tap_log.open("w") as tap_stderr:
        tap = subprocess.Popen(
            [str(bin_dir / "tap-eaccounting"), "--config", str(tap_config)],
            stdout=subprocess.DEVNULL,
            stderr=tap_stderr,
            text=True,
        )
    target = subprocess.run(
        [
            sys.executable,
            "-m",
            "target_eaccounting",
            "--config",
            str(target_config),
            "--input",
            str(messages),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tap.wait(timeout=300)
    tap_err = tap_log.read_text()
    assert target.returncode == 0, target.stderr[-3000:]
    assert "created=60" in target.stderr
    assert "refreshed the eAccounting access token" in target.stderr  # it did rotate, more than once
    assert tap.returncode == 0, tap_err[-3000:]
    for output in (target.stderr, tap_err):
        assert "invalid_grant" not in output
        assert h.config["client_secret"] not in output
    refs = [i.get("YourReference") for i in h.objects("customerinvoices")]
    assert sorted(r for r in refs if str(r).startswith("R-")) == sorted(f"R-{i}" for i in range(60))
