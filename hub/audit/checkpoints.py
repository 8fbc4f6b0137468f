"""Signed checkpoints: the heads of the chains that advanced, linked to the previous checkpoint.

A chain proves its own order, but not that its tail or the whole chain is
still there: deleting the last entries of a chain, or all of them, leaves a
shorter chain that still verifies. A checkpoint records chains' ``(seq,
hash)`` heads at a moment; later, a chain that is missing, or ends before the
newest head any checkpoint recorded for it, has lost entries. Each
checkpoint holds the hash of the previous one, so checkpoints cannot be
dropped from the middle either.

Checkpoints are *deltas*: each records the heads of only the chains that
gained entries since the checkpoint before it (the first, every chain). A
chain that stopped advancing stays protected by the last checkpoint that
named it, since nothing legitimate ever shortens or rewrites a chain: the
verifier holds each chain to the newest head any checkpoint recorded. So a
checkpoint costs, to write and to verify, in proportion to the entries made
since the one before, not to the number of chains. Naming a head an earlier
checkpoint named already is allowed (a full snapshot is a valid delta), but
never needed.

Finding the chains that advanced: on SQLite, the entries stored after those
the latest checkpoint named (:func:`hub.store.audit.heads_appended_after`);
elsewhere, every chain's head compared with the newest head the checkpoints
recorded, which reads all of both.

The signed payload is the canonical JSON (:mod:`hub.audit._canonical`) of
the array ``["audit-checkpoint/2", at, key_id, prev_hash, heads]``, where
``at`` is in microseconds since the epoch and ``heads`` is the object
``{chain_id: [seq, hash]}``; the checkpoint's own hash is the hex SHA-256 of
that payload. Without a configured key a checkpoint is still written, with
an empty signature and key id: the links and heads are then checked, but
nothing stops someone with write access to the database from rewriting
checkpoints along with the entries, and ``hub audit verify`` says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from hub.audit._canonical import (
    CHECKPOINT_FORMAT,
    GENESIS_HASH,
    canonical_json,
    sha256_hex,
    utc_micros,
)
from hub.audit._locks import lock_checkpoints
from hub.audit.signing import Signer
from hub.store import AuditCheckpointRow
from hub.store import audit as audit_store

__all__ = [
    "advanced_heads",
    "checkpoint_hash",
    "checkpoint_payload",
    "make_checkpoint",
    "newest_heads",
    "write_checkpoint",
]


def checkpoint_payload(
    *, at: datetime, heads: Mapping[str, tuple[int, str]], prev_hash: str, key_id: str
) -> bytes:
    """The bytes a checkpoint's signature and hash cover."""
    return canonical_json(
        [
            CHECKPOINT_FORMAT,
            utc_micros(at),
            key_id,
            prev_hash,
            {chain: [seq, digest] for chain, (seq, digest) in heads.items()},
        ]
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


def newest_heads(checkpoints: Iterable[AuditCheckpointRow]) -> dict[str, tuple[int, str]]:
    """Each chain's newest head that any of ``checkpoints`` recorded."""
    newest: dict[str, tuple[int, str]] = {}
    for checkpoint in checkpoints:
        for chain_id, head in checkpoint.heads.items():
            known = newest.get(chain_id)
            if known is None or head[0] > known[0]:
                newest[chain_id] = head
    return newest


def advanced_heads(conn: Connection) -> dict[str, tuple[int, str]]:
    """Heads of the chains that advanced past the newest head the checkpoints recorded.

    On SQLite only the entries stored since the latest checkpoint are read;
    elsewhere every checkpoint and every chain's head.
    """
    anchor = audit_store.latest_checkpoint_with_heads(conn)
    if anchor is None:
        return audit_store.all_chain_heads(conn)
    appended = audit_store.heads_appended_after(conn, anchor.heads)
    if appended is not None:
        return appended
    recorded = newest_heads(audit_store.checkpoints(conn))
    return {
        chain_id: head
        for chain_id, head in audit_store.all_chain_heads(conn).items()
        if head[0] > recorded.get(chain_id, (0, ""))[0]
    }


def write_checkpoint(conn: Connection, signer: Signer | None, at: datetime) -> AuditCheckpointRow:
    """Store a checkpoint over the chains that advanced, as the transaction sees them."""
    lock_checkpoints(conn)
    # The store numbers checkpoints, so the row is built first with a
    # placeholder seq; seq is not part of what is signed.
    row = make_checkpoint(
        seq=0,
        at=at,
        heads=advanced_heads(conn),
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
