"""The Singer SDK's standard tap test suite, run against the sandbox's demo company.

Nothing is excluded. The suite syncs every stream, including the fan-out streams (enabled by
``fan_out_streams``); ``voucher_over_under_payments`` costs one request per voucher, so the suite gets its
own sandbox with the 600/min limit off: otherwise its ~1000 requests to one endpoint would wait out the
rate-limit window.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.testing import get_tap_test_class

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.streams import FAN_OUT_STREAMS
from tap_eaccounting.tap import TapEAccounting

from .conftest import SCOPES

# Filled in by the fixture below once the sandbox runs; the SDK builds its runner (and collects the
# stream and attribute tests from discovery, which needs no network) at import time.
CONFIG: dict[str, Any] = {
    "client_id": "sandbox-client",
    "client_secret": "sandbox-secret",
    "fan_out_streams": list(FAN_OUT_STREAMS),
}


def _catalog_selecting_everything() -> dict[str, Any]:
    catalog: dict[str, Any] = TapEAccounting(config=CONFIG).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = True
    return catalog


_Base = get_tap_test_class(TapEAccounting, config=CONFIG, catalog=_catalog_selecting_everything())


@pytest.mark.xdist_group("tap-standard-suite")
class TestTapEAccountingStandard(_Base):  # type: ignore[misc,valid-type]
    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _point_at_sandbox(cls) -> Iterator[None]:
        with SandboxServer(seed=1, rate_limit_per_minute=0) as server, tempfile.TemporaryDirectory() as tmp:
            tokens = server.mint_tokens("demo-no", SCOPES)
            CONFIG.update(
                refresh_token=tokens["refresh_token"],
                token_store_path=str(Path(tmp) / f"tokens-{uuid.uuid4().hex}.json"),
                api_url=server.api_url,
                identity_url=server.identity_url,
                rate_limit_per_minute=1_000_000,
            )
            yield
