"""Subject ids: a keyed hash of an agency-local identifier, never a name.

Every adapter derives the subject id the same way, so the same survivor known
to two agencies by the same identifier (a national id, say) gets the same
pseudonym on the bus, while nobody without the hub's key can go back from the
pseudonym to the identifier.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SUBJECT_HEX_DIGITS", "subject_id"]

#: 128 bits of the HMAC: collisions stay negligible for any realistic population.
SUBJECT_HEX_DIGITS = 32


def subject_id(key: bytes, system: str, value: str) -> str:
    """``sub_`` and the first hex digits of HMAC-SHA256(key, ``system|value``)."""
    if not key:
        raise ValueError("a pseudonym key is required")
    message = f"{system.strip()}|{value.strip()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return "sub_" + digest[:SUBJECT_HEX_DIGITS]
