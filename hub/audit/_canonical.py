"""The one byte encoding every audit hash and signature is computed over.

A hash is only reproducible if every party serialises the same value to the
same bytes, years later and in another language. The rule, for an auditor
writing their own verifier:

- JSON (RFC 8259) with no whitespace between tokens, encoded as UTF-8;
- strings written as their characters, except ``"`` and ``\\`` (written
  ``\\"`` and ``\\\\``) and the control characters U+0000 to U+001F (written
  ``\\b``, ``\\t``, ``\\n``, ``\\f``, ``\\r``, or else ``\\u00xx`` with
  lower-case hex); nothing else is escaped, not even non-ASCII;
- integers in plain decimal; no floats ever occur (details refuse them);
- object members sorted by key, comparing keys by Unicode code point;
- times as integers: microseconds since 1970-01-01T00:00:00Z (leap seconds
  not counted, as in Unix time). The database keeps microseconds on every
  backend, so that is the precision that survives a round trip.

What is hashed is a JSON *array* in a fixed order that starts with a format
tag (:data:`ENTRY_FORMAT`, :data:`CHECKPOINT_FORMAT`): no member names to
sort or repeat on every entry, and the tag keeps an entry's bytes from ever
reading as a checkpoint's, or as another version's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from json import encoder as _json_encoder
from typing import Any

__all__ = [
    "CHECKPOINT_FORMAT",
    "ENTRY_FORMAT",
    "GENESIS_HASH",
    "canonical_json",
    "canonical_sha256",
    "sha256_hex",
    "utc_micros",
]

#: The ``prev_hash`` of the first entry of a chain and of the first checkpoint.
GENESIS_HASH = "0" * 64

#: First element of the array an entry's hash covers.
ENTRY_FORMAT = "audit-entry/2"

#: First element of the array a checkpoint's hash and signature cover.
CHECKPOINT_FORMAT = "audit-checkpoint/2"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,  # audit values are flat by construction; nothing to recurse into
)


def _refuse(value: object) -> object:
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def _compiled_encoder() -> Callable[[Any, int], Iterable[str]] | None:
    """The C encoder ``_ENCODER`` builds on every call, built once; None where unavailable.

    ``JSONEncoder.encode`` constructs a fresh C encoder for each value, which
    costs as much as encoding a whole audit entry; verifying a log encodes
    millions. The construction is CPython's, so it is checked against
    ``_ENCODER`` before use and dropped if its interface ever changes.
    """
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        chunks: Callable[[Any, int], Iterable[str]] = make(
            None,  # no circularity markers, as check_circular=False
            _refuse,
            _json_encoder.encode_basestring,  # the ensure_ascii=False string writer
            None,  # no indent
            ":",
            ",",
            True,  # sort_keys
            False,  # skipkeys
            False,  # allow_nan
        )
        probe = ['é\n"\\\x00\x7f', 1, -2, None, True, False, {"b": [1, "x"], "a": "", "B": {}}]
        if "".join(chunks(probe, 0)) != _ENCODER.encode(probe):
            return None
    except (TypeError, ValueError):
        return None
    return chunks


def _chunks_of_encoder(value: Any, _indent_level: int) -> Iterable[str]:
    return _ENCODER.iterencode(value)


_chunks: Callable[[Any, int], Iterable[str]] = _compiled_encoder() or _chunks_of_encoder


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical JSON bytes; NaN, infinities and non-JSON types are refused."""
    return "".join(_chunks(value, 0)).encode("utf-8")


def canonical_sha256(value: Any) -> str:
    """The hex SHA-256 of ``canonical_json(value)``, in one step for the verifier's hot loop."""
    return hashlib.sha256("".join(_chunks(value, 0)).encode("utf-8")).hexdigest()


def utc_micros(at: datetime) -> int:
    """``at`` as microseconds since the Unix epoch; a naive value is a caller's bug and refused."""
    try:
        return (at - _EPOCH) // _MICROSECOND
    except TypeError:
        if not isinstance(at, datetime):
            raise
        raise ValueError(
            f"naive datetime {at.isoformat()} given; audit times must be aware"
        ) from None


def sha256_hex(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()
