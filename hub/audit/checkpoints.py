"""Signed checkpoints: a snapshot of every chain's head, linked to the previous one.

A chain proves its own order, but not that its tail or the whole chain is
still there: deleting the last entries of a chain, or all of them, leaves a
shorter chain that still verifies. A checkpoint records every chain's
``(seq, hash)`` at a moment; later, a chain that is missing or ends before the
head a checkpoint recorded has lost entries. Each checkpoint holds the hash of
the previous one, so checkpoints cannot be dropped from the middle either.

The signed payload is the canonical JSON of ``{at, heads, key_id, prev_hash}``;
the checkpoint's own hash is the SHA-256 of that payload. Without a configured
key a checkpoint is still written, with an empty signature and key id: the
links and heads are then checked, but nothing stops someone with write access
to the database from rewriting checkpoints along with the entries, and
``hub audit verify`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from hub.audit._canonical import GENESIS_HASH, canonical_json, iso_time, sha256_hex
from hub.audit._locks import lock_checkpoints
from hub.audit.signing import Signer
from hub.store import AuditCheckpointRow
from hub.store import audit as audit_store

__all__ = ["checkpoint_hash", "checkpoint_payload", "make_checkpoint", "write_checkpoint"]


def checkpoint_payload(
    *, at: datetime, heads: Mapping[str, tuple[int, str]], prev_hash: str, key_id: str
) -> bytes:
    """The bytes a checkpoint's signature and hash cover."""
    return canonical_json(
        {
            "at": iso_time(at),
            "heads": {chain: [seq, digest] for chain, (seq, digest) in heads.items()},
            "key_id": key_id,
            "prev_hash": prev_hash,
        }
    )


def _payload_of(row: AuditCheckpointRow) -> bytes:
    return checkpoint_payload(
        at=row.at, heads=row.heads, prev_hash=row.prev_hash, key_id=row.key_id
    )


def checkpoint_hash(row: AuditCheckpointRow) -> str:
    """The hash the next checkpoint's ``prev_hash`` must equal."""
    return sha256_hex(_payload_of(row))


def make_checkpoint(
    *,
    seq: int,
    at: datetime,
    heads: Mapping[str, tuple[int, str]],
    previous: AuditCheckpointRow | None,
    signer: Signer | None,
) -> AuditCheckpointRow:
    """The checkpoint following ``previous``, signed by ``signer`` when there is one."""
    prev_hash = checkpoint_hash(previous) if previous is not None else GENESIS_HASH
    key_id = signer.key_id if signer is not None else ""
    payload = checkpoint_payload(at=at, heads=heads, prev_hash=prev_hash, key_id=key_id)
    return AuditCheckpointRow(
        seq=seq,
        at=at,
        heads=dict(heads),
        prev_hash=prev_hash,
        signature=signer.sign(payload) if signer is not None else "",
        key_id=key_id,
    )


def write_checkpoint(conn: Connection, signer: Signer | None, at: datetime) -> AuditCheckpointRow:
    """Store a checkpoint over every chain head as the transaction sees them."""
    lock_checkpoints(conn)
    # The store numbers checkpoints, so the row is built first with a
    # placeholder seq; seq is not part of what is signed.
    row = make_checkpoint(
        seq=0,
        at=at,
        heads=audit_store.all_chain_heads(conn),
        previous=audit_store.latest_checkpoint(conn),
        signer=signer,
    )
    seq = audit_store.add_checkpoint(
        conn,
        at=row.at,
        heads=row.heads,
        prev_hash=row.prev_hash,
        signature=row.signature,
        key_id=row.key_id,
    )
    return replace(row, seq=seq)
