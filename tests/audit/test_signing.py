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
from hub.audit.checkpoints import advanced_heads, checkpoint_payload
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


def test_checkpoints_record_the_chains_that_advanced_and_link(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """The first checkpoint holds every head, each later one the chains that advanced since."""
    with store.transaction() as conn:
        a = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(0), referral_id="a")
        b = recorder.record(conn, action=AuditAction.ERASED, actor="h", at=at(0))
        first = write_checkpoint(conn, signer, at(1))
        c = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(1), referral_id="c")
        a2 = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(1), referral_id="a")
        second = write_checkpoint(conn, signer, at(2))
        third = write_checkpoint(conn, signer, at(3))
    assert first.heads == {"referral:a": (1, a.hash), "hub": (1, b.hash)}
    assert second.heads == {"referral:a": (2, a2.hash), "referral:c": (1, c.hash)}
    assert third.heads == {}
    assert first.prev_hash == "0" * 64
    assert (second.prev_hash, third.prev_hash) == (checkpoint_hash(first), checkpoint_hash(second))
    payload = checkpoint_payload(
        at=first.at, heads=first.heads, prev_hash=first.prev_hash, key_id=signer.key_id
    )
    assert (
        payload
        == (
            f'["audit-checkpoint/2",1772355660123456,"{signer.key_id}","{"0" * 64}",'
            f'{{"hub":[1,"{b.hash}"],"referral:a":[1,"{a.hash}"]}}]'
        ).encode()
    )
    assert checkpoint_hash(first) == hashlib.sha256(payload).hexdigest()
    assert signature_valid(signer.public_key, payload, first.signature)
    with store.transaction() as conn:
        assert audit_store.checkpoints(conn) == [first, second, third]


def test_checkpoint_after_an_empty_one_still_sees_what_advanced(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Checkpoints that recorded nothing do not hide the chains that advanced before them."""
    with store.transaction() as conn:
        recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(0), referral_id="a")
        write_checkpoint(conn, signer, at(1))
        write_checkpoint(conn, signer, at(2))
    with store.transaction() as conn:
        write_checkpoint(conn, signer, at(3))
        b = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(4), referral_id="b")
        last = write_checkpoint(conn, signer, at(5))
    assert last.heads == {"referral:b": (1, b.hash)}


def test_advanced_heads_are_the_heads_no_checkpoint_recorded_yet(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Only chains whose head is past the newest one a checkpoint recorded are returned."""
    with store.transaction() as conn:
        assert advanced_heads(conn) == {}
        for referral in ("a", "b", "c"):
            recorder.record(
                conn, action=AuditAction.ROUTED, actor="h", at=at(0), referral_id=referral
            )
        assert set(advanced_heads(conn)) == {"referral:a", "referral:b", "referral:c"}
        write_checkpoint(conn, signer, at(1))
        assert advanced_heads(conn) == {}
        b2 = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(2), referral_id="b")
        d = recorder.record(conn, action=AuditAction.ROUTED, actor="h", at=at(2), referral_id="d")
        assert advanced_heads(conn) == {"referral:b": (2, b2.hash), "referral:d": (1, d.hash)}


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
