"""Erasure that keeps the proof: destroy a subject's key, not the log.

A survivor may ask for her data to be erased, yet the audit log must still
show what was disclosed and under which consent, and an erased row would break
its hash chain. So the two are kept apart: audit entries never hold payloads,
and stored payloads are encrypted with a key per subject (AES-256-GCM).
Erasure destroys that key: every payload of hers becomes unreadable at once,
wherever it is stored, while the chains and checkpoints verify as before. The
erasure itself is an audit entry naming only her pseudonymous subject id.

The subject id is bound into each ciphertext (as associated data), so an
envelope relabelled with another subject's id does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection

from hub.audit.chain import AuditRecorder
from hub.audit.entries import AuditAction
from hub.errors import HubError
from hub.store import statistics, subject_keys

__all__ = [
    "ENVELOPE_ENC",
    "MAX_SUBJECT_CHARS",
    "SubjectErased",
    "decrypt_payload",
    "decrypt_with",
    "encrypt_payload",
    "encrypt_payloads",
    "erase_subject",
    "largest_sealable",
    "sealed_size_bound",
    "sealed_subject",
]

#: The ``enc`` marker of an envelope this module wrote.
ENVELOPE_ENC = "aesgcm"

_NONCE_BYTES = 12
_TAG_BYTES = 16
#: The JSON around an envelope's values: its keys, quotes and base64 nonce.
_ENVELOPE_OVERHEAD = 128
#: Subject ids are pseudonyms, or ``unlinked:`` and a referral id.
MAX_SUBJECT_CHARS = 160
_AAD_PREFIX = b"referral-hub/payload/v1/"


class SubjectErased(HubError):
    """The subject was erased, so nothing more is stored readably about her."""

    def __init__(self, subject_id: str) -> None:
        super().__init__(f"subject {subject_id} has been erased")
        self.subject_id = subject_id


def _aad(subject_id: str) -> bytes:
    return _AAD_PREFIX + subject_id.encode("utf-8")


def encrypt_payload(
    conn: Connection, subject_id: str, data: Mapping[str, Any], *, at: datetime | None = None
) -> dict[str, str]:
    """``data`` (JSON-able) encrypted under the subject's key, as a JSON-able envelope.

    Creates the subject's key on first use (``at`` stamps it; now by default).
    Raises :class:`SubjectErased` once the subject's key has been destroyed.
    """
    (envelope,) = encrypt_payloads(conn, [(subject_id, data)], at=at or datetime.now(UTC))
    if envelope is None:
        raise SubjectErased(subject_id)
    return envelope


def encrypt_payloads(
    conn: Connection, items: Sequence[tuple[str, Mapping[str, Any]]], *, at: datetime
) -> list[dict[str, str] | None]:
    """Each ``(subject id, data)`` encrypted as :func:`encrypt_payload` does; None once erased.

    The subjects' keys are read, and created where missing, once for the batch.
    """
    subjects = {subject_id for subject_id, _ in items}
    keys = subject_keys.get_or_create_keys(
        conn, {subject_id: AESGCM.generate_key(bit_length=256) for subject_id in subjects}, at
    )
    ciphers = {subject_id: AESGCM(key) for subject_id, key in keys.items() if key is not None}
    envelopes: list[dict[str, str] | None] = []
    for subject_id, data in items:
        cipher = ciphers.get(subject_id)
        if cipher is None:
            envelopes.append(None)
            continue
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False).encode()
        ciphertext = cipher.encrypt(nonce, plaintext, _aad(subject_id))
        envelopes.append(
            {
                "enc": ENVELOPE_ENC,
                "subject": subject_id,
                "nonce": base64.b64encode(nonce).decode("ascii"),
                "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
            }
        )
    return envelopes


def decrypt_payload(conn: Connection, envelope: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload an envelope holds; None once its subject has been erased.

    ValueError for something that is not an envelope, or one that was altered.
    """
    key = subject_keys.get_key(conn, sealed_subject(envelope))
    if key is None:
        return None
    data = json.loads(decrypt_with(key, envelope))
    if not isinstance(data, dict):
        raise ValueError("the envelope does not hold a JSON object")
    return data


def sealed_subject(envelope: Mapping[str, Any]) -> str:
    """Whose key seals an envelope; ValueError for something that is not an envelope."""
    if envelope.get("enc") != ENVELOPE_ENC:
        raise ValueError(f"not an encrypted payload envelope (enc={envelope.get('enc')!r})")
    return _text(envelope, "subject")


def decrypt_with(key: bytes, envelope: Mapping[str, Any]) -> bytes:
    """The JSON text an envelope holds, opened with its subject's ``key``.

    ValueError for something that is not an envelope, or one that was altered.
    """
    subject_id = sealed_subject(envelope)
    nonce_b64, ciphertext_b64 = _text(envelope, "nonce"), _text(envelope, "ciphertext")
    try:
        nonce = base64.b64decode(nonce_b64, validate=True)
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
        return AESGCM(key).decrypt(nonce, ciphertext, _aad(subject_id))
    except (binascii.Error, InvalidTag, ValueError) as exc:
        raise ValueError("the envelope does not decrypt: it was altered or mislabelled") from exc


def largest_sealable(sealed_bytes: int) -> int:
    """The longest payload whose envelope surely fits in ``sealed_bytes``."""
    return (sealed_bytes - 6 * MAX_SUBJECT_CHARS - _ENVELOPE_OVERHEAD) // 4 * 3 - _TAG_BYTES


def sealed_size_bound(plaintext_bytes: int) -> int:
    """At most how many bytes an envelope takes as JSON text, for a payload this long.

    Base64 of the ciphertext and its tag, the nonce, and the subject id (at
    most :data:`MAX_SUBJECT_CHARS` characters, each at most 6 bytes escaped).
    """
    ciphertext = 4 * -(-(plaintext_bytes + _TAG_BYTES) // 3)
    return ciphertext + 6 * MAX_SUBJECT_CHARS + _ENVELOPE_OVERHEAD


def _text(envelope: Mapping[str, Any], key: str) -> str:
    value = envelope.get(key)
    if not isinstance(value, str):
        raise ValueError(f"the envelope has no {key}")
    return value


def erase_subject(
    conn: Connection, recorder: AuditRecorder, subject_id: str, actor: str, at: datetime
) -> bool:
    """Destroy the subject's key and record the erasure; True if a live key was destroyed.

    Erasing a subject without a key still leaves a tombstone, so data that
    arrives about her later is refused rather than stored readably.
    """
    destroyed = subject_keys.destroy_key(conn, subject_id, at)
    # Her incident's codes are kept in clear for statistics: they go with her key.
    statistics.forget_subject(conn, subject_id)
    recorder.record(
        conn,
        action=AuditAction.ERASED,
        actor=actor,
        at=at,
        details={"subject": subject_id, "key_destroyed": destroyed},
    )
    return destroyed
