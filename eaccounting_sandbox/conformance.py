"""Response validation: every /v2 JSON body checked against the spec before it is sent.

On when ``validate_responses`` is set (``SandboxServer`` turns it on; tests read the failures from
``GET /_admin/conformance``). Kept cheap: each distinct item is validated once, keyed by a hash of
its encoded bytes, so paging over the same records again costs one encode and one set lookup each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec

from eaccounting_api import spec

MAX_FAILURES = 200
ERROR_SCHEMA = "CommonExtendedBadRequest"
META_SCHEMA = "CommonPaginationMetadata"
_encoder = msgspec.json.Encoder()


class Conformance:
    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self.checked = 0
        self.failures: list[dict[str, Any]] = []

    def _check(self, schema_name: str, instance: Any, where: str) -> None:
        digest = hashlib.blake2b(_encoder.encode(instance), digest_size=16, key=schema_name.encode()[:64])
        key = digest.digest()
        if key in self._seen:
            return
        self.checked += 1
        error = next(iter(spec.validator(schema_name).iter_errors(instance)), None)
        if error is None:
            self._seen.add(key)
            return
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(
                {
                    "where": where,
                    "schema": schema_name,
                    "instance_path": "/".join(str(p) for p in error.absolute_path),
                    "message": error.message[:500],
                }
            )

    def check_page(self, item_schema: str, meta: dict[str, Any], items: Iterable[Any], where: str) -> None:
        self._check(META_SCHEMA, meta, where + " Meta")
        for index, item in enumerate(items):
            self._check(item_schema, item, f"{where} Data[{index}]")

    def check_body(self, schema_name: str | None, body: Any, where: str) -> None:
        if schema_name is None:
            if body is not None:
                self._record(where, "the spec declares no JSON body for this response")
            return
        self._check(schema_name, body, where)

    def check_items(self, item_schema: str, body: Any, where: str) -> None:
        """A body the spec declares as a JSON array of ``item_schema``."""
        if not isinstance(body, list):
            self._record(where, f"the spec declares a JSON array of {item_schema}")
            return
        for index, item in enumerate(body):
            self._check(item_schema, item, f"{where} [{index}]")

    def check_error(self, body: dict[str, Any], where: str) -> None:
        self._check(ERROR_SCHEMA, body, where)

    def _record(self, where: str, message: str) -> None:
        if len(self.failures) < MAX_FAILURES:
            self.failures.append({"where": where, "schema": None, "instance_path": "", "message": message})

    def report(self) -> dict[str, Any]:
        return {"checked": self.checked, "failures": list(self.failures)}

    def reset(self) -> None:
        self._seen.clear()
        self.checked = 0
        self.failures.clear()
