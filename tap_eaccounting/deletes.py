"""``detect_deletes``: hard deletes found by comparing this run's keys with the previous run's.

The API cannot list deletions (docs/API_FACTS.md#deletions). With ``detect_deletes`` on, each stream (or state
partition) keeps the set of primary keys it saw in a compact digest in its state (``deleted_digest``); on the
next run the keys missing from the current full set are emitted as records carrying only the key properties
and ``_sdc_deleted_at``.

Cost, per stream and run: the full key set must be read, so an incremental stream makes one extra
full scan (every page, decoding only the key fields); a full-table stream gets it from its own read.
State grows by ~22 bytes per record for UUID keys (16 raw bytes, base64), ~1.7 MB per 100,000 rows,
and rides along in every STATE message of that stream. The first run only records the digest.

A key missing because of churn cannot be mistaken for a delete: the reader emits every row that exists
both when the read starts and when it ends (see ``reader``), so only rows deleted meanwhile go missing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

DIGEST_KEY = "deleted_digest"
DELETED_AT = "_sdc_deleted_at"
Key = tuple[Any, ...]


def encode(keys: Iterable[Key]) -> str:
    """Sorted keys, packed: 16 bytes per UUID when every key is one UUID, else compact JSON; zlib; base64."""
    ordered = sorted(set(keys), key=json.dumps)
    try:
        packed = b"U" + b"".join(uuid.UUID(str(k[0])).bytes for k in ordered if len(k) == 1)
        if len(packed) != 1 + 16 * len(ordered):
            raise ValueError("not all single-UUID keys")
    except ValueError:
        packed = b"J" + json.dumps(ordered, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(packed, 6)).decode("ascii")


def decode(digest: str) -> set[Key]:
    packed = zlib.decompress(base64.b64decode(digest))
    kind, body = packed[:1], packed[1:]
    if kind == b"U":
        return {(str(uuid.UUID(bytes=body[i : i + 16])),) for i in range(0, len(body), 16)}
    return {tuple(k) for k in json.loads(body)}


def deleted_records(
    previous: str | None, current: set[Key], key_names: tuple[str, ...], replication_key: str | None
) -> Iterator[dict[str, Any]]:
    """Records for the keys of ``previous`` that are not in ``current``."""
    if not previous:
        return
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    gone = decode(previous) - {normalize(k) for k in current}
    for key in sorted(gone, key=json.dumps):
        record: dict[str, Any] = dict(zip(key_names, key, strict=True))
        if replication_key and replication_key not in record:
            record[replication_key] = None
        record[DELETED_AT] = now
        yield record


def normalize(key: Key) -> Key:
    """UUIDs in their canonical lower-case form, so a key compares equal to its decoded digest entry."""
    return tuple(_canonical(v) for v in key)


def _canonical(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 36:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return value
    return value
