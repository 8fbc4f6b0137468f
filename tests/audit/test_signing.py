"""Checkpoint keys and checkpoints: seeds, key ids, signatures, links."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pydantic import SecretStr

from hub.audit import (
    AuditAction,
    AuditRecorder,
    Signer,
    checkpoint_hash,
    generate_seed,
    key_id_of,
    load_public_key,
    public_key_b64,
    write_checkpoint,
)
from hub.audit.checkpoints import checkpoint_payload
from hub.audit.signing import signature_valid
from hub.config import AuditSettings
from hub.errors import ConfigError
from hub.store import Store
from hub.store import audit as audit_store
from tests.audit.helpers import at


def test_seed_round_trip_and_key_id() -> None:
    """A generated seed loads; key_id is the first 16 hex of sha256 of the raw public key."""
    signer = Signer.from_seed(generate_seed())
    raw = base64.b64decode(public_key_b64(signer.public_key))
    assert len(raw) == 32
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert key_id_of(load_public_key(public_key_b64(signer.public_key))) == signer.key_id
    signature = signer.sign(b"payload")
    assert signature_valid(signer.public_key, b"payload", signature)
    assert not signature_valid(signer.public_key, b"other", signature)
    assert not signature_valid(signer.public_key, b"payload", "not base64!")


@pytest.mark.parametrize("bad", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_bad_keys_are_refused(bad: str) -> None:
    """A seed or public key that is not base64 of 32 bytes raises ValueError."""
    with pytest.raises(ValueError, match=r"base64|32 bytes"):
        Signer.from_seed(bad)
    with pytest.raises(ValueError, match=r"base64|32 bytes"):
        load_public_key(bad)


def test_signer_from_settings() -> None:
    """No configured key means no signer; a broken one is a ConfigError naming the key."""
    assert Signer.from_settings(AuditSettings()) is None
    seed = generate_seed()
    signer = Signer.from_settings(AuditSettings(signing_key=SecretStr(seed)))
    assert signer is not None
    assert signer.key_id == Signer.from_seed(seed).key_id
    with pytest.raises(ConfigError, match=r"audit\.signing_key"):
        Signer.from_settings(AuditSettings(signing_key=SecretStr("nope")))
    recorder = AuditRecorder.from_settings(AuditSettings(checkpoint_every=7))
    assert recorder.signer is None


def test_checkpoints_cover_all_heads_and_link(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Each checkpoint holds every chain head, the previous checkpoint's hash, and a signature."""
    with store.transaction() as conn:
        a = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(0), referral_id="a")
        b = recorder.record(conn, action=AuditAction.ERASED, actor="h", at=at(0))
        first = write_checkpoint(conn, signer, at(1))
        second = write_checkpoint(conn, signer, at(2))
    assert first.heads == {"referral:a": (1, a.hash), "hub": (1, b.hash)}
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == checkpoint_hash(first)
    payload = checkpoint_payload(
        at=first.at, heads=first.heads, prev_hash=first.prev_hash, key_id=signer.key_id
    )
    assert payload.startswith(b'{"at":"2026-03-01T09:01:00.123456+00:00","heads":{"hub":[1,')
    assert signature_valid(signer.public_key, payload, first.signature)
    with store.transaction() as conn:
        assert audit_store.checkpoints(conn) == [first, second]


def test_unsigned_checkpoint_without_key(store: Store) -> None:
    """Without a signer a checkpoint is still written, with empty signature and key id."""
    with store.transaction() as conn:
        row = write_checkpoint(conn, None, at(0))
    assert (row.signature, row.key_id, row.heads) == ("", "", {})


def test_recorder_checkpoint_is_noted_in_the_hub_chain(
    store: Store, recorder: AuditRecorder
) -> None:
    """A checkpoint written by the recorder is followed by a hub-chain entry naming its hash."""
    with store.transaction() as conn:
        row = recorder.checkpoint(conn, at(0))
        head = audit_store.chain_head(conn, "hub")
    assert head is not None
    assert head.action == "checkpoint"
    assert head.details == {
        "checkpoint": row.seq,
        "hash": checkpoint_hash(row),
        "key_id": row.key_id,
    }
