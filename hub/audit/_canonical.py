"""The one byte encoding every audit hash and signature is computed over.

A hash is only reproducible if every party serialises the same value to the
same bytes, years later and in another language. Hence JSON with sorted keys,
no insignificant whitespace, UTF-8 text rather than ``\\u`` escapes, and
timestamps as fixed-precision ISO 8601 in UTC: the database hands a timestamp
back as an aware UTC value with microseconds on every backend, so that is the
form that survives a round trip.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["GENESIS_HASH", "canonical_json", "iso_time", "sha256_hex"]

#: The ``prev_hash`` of the first entry of a chain and of the first checkpoint.
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical JSON bytes; floats and non-JSON types are refused."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def iso_time(at: datetime) -> str:
    """``at`` in UTC with microseconds; a naive value is a caller's bug and is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} given; audit times must be aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def sha256_hex(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()
