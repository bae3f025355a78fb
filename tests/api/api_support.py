"""Constants shared by the shared-client tests (tests/ has no packages, so import this by name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

READ_SCOPES = ["ea:api", "offline_access", "ea:sales_readonly", "ea:accounting_readonly"]
WRITE_SCOPES = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]
CLIENT_SECRET = "sandbox-secret"

MakeConfig = Callable[..., dict[str, Any]]
