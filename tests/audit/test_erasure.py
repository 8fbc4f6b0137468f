"""Erasure: payloads become unreadable, and the audit log still verifies."""

from __future__ import annotations

import base64

import pytest

from hub.audit import (
    AuditAction,
    AuditRecorder,
    Signer,
    SubjectErased,
    decrypt_payload,
    encrypt_payload,
    erase_subject,
    verify,
)
from hub.store import Store
from hub.store import audit as audit_store
from tests.audit.helpers import at, populate

PAYLOAD = {"narrative": "what she told the listening unit", "phone": "+33 6 00 00 00 00"}


def test_round_trip(store: Store) -> None:
    """An encrypted payload is a small envelope without the plaintext, and decrypts back."""
    with store.transaction() as conn:
        envelope = encrypt_payload(conn, "subject-1", PAYLOAD, at=at(0))
        assert set(envelope) == {"enc", "subject", "nonce", "ciphertext"}
        assert (envelope["enc"], envelope["subject"]) == ("aesgcm", "subject-1")
        assert "listening" not in str(envelope)
        assert decrypt_payload(conn, envelope) == PAYLOAD
        again = encrypt_payload(conn, "subject-1", PAYLOAD, at=at(1))
    assert again["ciphertext"] != envelope["ciphertext"]  # a fresh nonce each time


def test_erasure_makes_payloads_unreadable_and_verify_still_passes(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """After erasure decrypt returns None, new data is refused, and the log verifies."""
    populate(store, recorder)
    with store.transaction() as conn:
        envelope = encrypt_payload(conn, "subject-1", PAYLOAD, at=at(0))
        other = encrypt_payload(conn, "subject-2", PAYLOAD, at=at(0))
    with store.transaction() as conn:
        assert erase_subject(conn, recorder, "subject-1", "operator", at(20))
        recorder.checkpoint(conn, at(21))
    with store.transaction() as conn:
        assert decrypt_payload(conn, envelope) is None
        assert decrypt_payload(conn, other) == PAYLOAD
        with pytest.raises(SubjectErased):
            encrypt_payload(conn, "subject-1", PAYLOAD, at=at(22))
        report = verify(conn, signer.public_key)
        erased = [
            e for e in audit_store.entries(conn, chain_id="hub") if e.action == AuditAction.ERASED
        ]
    assert report.ok, report.problems
    assert [e.details for e in erased] == [{"subject": "subject-1", "key_destroyed": True}]
    assert [(e.actor, e.at) for e in erased] == [("operator", at(20))]


def test_erasing_a_subject_without_data_leaves_a_tombstone(
    store: Store, recorder: AuditRecorder
) -> None:
    """Erasing a subject with no key yet records it, and no key is issued afterwards."""
    with store.transaction() as conn:
        assert not erase_subject(conn, recorder, "subject-9", "operator", at(0))
        with pytest.raises(SubjectErased, match="subject-9"):
            encrypt_payload(conn, "subject-9", PAYLOAD, at=at(1))


def test_altered_or_relabelled_envelopes_do_not_decrypt(store: Store) -> None:
    """A changed ciphertext, or an envelope moved to another subject, raises ValueError."""
    with store.transaction() as conn:
        envelope = encrypt_payload(conn, "subject-1", PAYLOAD, at=at(0))
        encrypt_payload(conn, "subject-2", {"x": 1}, at=at(0))
        raw = bytearray(base64.b64decode(envelope["ciphertext"]))
        raw[0] ^= 1
        flipped = {**envelope, "ciphertext": base64.b64encode(bytes(raw)).decode()}
        with pytest.raises(ValueError, match="altered or mislabelled"):
            decrypt_payload(conn, flipped)
        with pytest.raises(ValueError, match="altered or mislabelled"):
            decrypt_payload(conn, {**envelope, "subject": "subject-2"})
        with pytest.raises(ValueError, match="not an encrypted payload"):
            decrypt_payload(conn, PAYLOAD)
        with pytest.raises(ValueError, match="no nonce"):
            decrypt_payload(conn, {**envelope, "nonce": None})
