"""Whether a domain module (built in parallel by another engineer) and its sibling imports exist yet.

Tests of HTTP behaviour that needs one are marked xfail until it lands; once it exists they must pass.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path


def domain_ready(module: str) -> bool:
    found = importlib.util.find_spec(f"eaccounting_sandbox.{module}")
    if found is None or found.origin is None:
        return False
    source = Path(found.origin).read_text("utf-8")
    siblings = set(re.findall(r"eaccounting_sandbox(?:\.|\s+import\s+)(\w+)", source))
    return all(importlib.util.find_spec(f"eaccounting_sandbox.{name}") is not None for name in siblings)
