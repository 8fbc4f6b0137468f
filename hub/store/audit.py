"""Storage for the hash-chained audit log and its signed checkpoints.

Only storage lives here; computing and verifying hashes and signatures is the
audit module's job. The primary key ``(chain_id, seq)`` makes a fork
impossible: of two writers appending the same ``seq`` to a chain, the second
fails with ``StoreError`` and must re-read the head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, func, select

from hub.store._errors import translating
from hub.store.schema import audit_checkpoints, audit_entries

__all__ = [
    "AuditCheckpointRow",
    "AuditEntryRow",
    "add_checkpoint",
    "all_chain_heads",
    "append_entry",
    "chain_head",
    "checkpoints",
    "count_entries",
    "entries",
    "latest_checkpoint",
]


@dataclass(frozen=True, slots=True)
class AuditEntryRow:
    """One entry of an audit chain; ``hash`` covers the entry and ``prev_hash``."""

    chain_id: str
    seq: int
    entry_id: str
    at: datetime
    action: str
    actor: str
    event_id: str | None
    referral_id: str | None
    consent_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditCheckpointRow:
    """A signed snapshot of every chain's head: ``heads[chain_id] == (seq, hash)``."""

    seq: int
    at: datetime
    heads: dict[str, tuple[int, str]]
    prev_hash: str
    signature: str
    key_id: str


def _entry(m: RowMapping) -> AuditEntryRow:
    return AuditEntryRow(
        chain_id=m["chain_id"],
        seq=int(m["seq"]),
        entry_id=m["entry_id"],
        at=m["at"],
        action=m["action"],
        actor=m["actor"],
        event_id=m["event_id"],
        referral_id=m["referral_id"],
        consent_id=m["consent_id"],
        details=m["details"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


def _checkpoint(m: RowMapping) -> AuditCheckpointRow:
    # JSON has no tuples; heads are stored as two-element arrays.
    heads = {str(chain): (int(pair[0]), str(pair[1])) for chain, pair in m["heads"].items()}
    return AuditCheckpointRow(
        seq=int(m["seq"]),
        at=m["at"],
        heads=heads,
        prev_hash=m["prev_hash"],
        signature=m["signature"],
        key_id=m["key_id"],
    )


_INSERT_ENTRY = audit_entries.insert()


@translating
def append_entry(conn: Connection, row: AuditEntryRow) -> None:
    """Store an entry; ``StoreError`` if its ``(chain_id, seq)`` or ``entry_id`` is taken."""
    # Values as parameters of one shared statement: nothing to build per entry.
    conn.execute(
        _INSERT_ENTRY,
        {
            "chain_id": row.chain_id,
            "seq": row.seq,
            "entry_id": row.entry_id,
            "at": row.at,
            "action": row.action,
            "actor": row.actor,
            "event_id": row.event_id,
            "referral_id": row.referral_id,
            "consent_id": row.consent_id,
            "details": row.details,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        },
    )


@translating
def chain_head(conn: Connection, chain_id: str) -> AuditEntryRow | None:
    """The chain's last entry, None for a chain with no entries."""
    m = (
        conn.execute(
            select(audit_entries)
            .where(audit_entries.c.chain_id == chain_id)
            .order_by(audit_entries.c.seq.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return _entry(m) if m is not None else None


@translating
def entries(
    conn: Connection,
    *,
    chain_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    referral_id: str | None = None,
) -> list[AuditEntryRow]:
    """Entries matching every filter given, ordered by ``(chain_id, seq)``.

    The time window is half-open: ``since <= at < until``.
    """
    query = select(audit_entries)
    if chain_id is not None:
        query = query.where(audit_entries.c.chain_id == chain_id)
    if since is not None:
        query = query.where(audit_entries.c.at >= since)
    if until is not None:
        query = query.where(audit_entries.c.at < until)
    if referral_id is not None:
        query = query.where(audit_entries.c.referral_id == referral_id)
    result = conn.execute(query.order_by(audit_entries.c.chain_id, audit_entries.c.seq)).mappings()
    return [_entry(m) for m in result]


@translating
def all_chain_heads(conn: Connection) -> dict[str, tuple[int, str]]:
    """``{chain_id: (seq, hash)}`` of every chain's last entry."""
    last = (
        select(audit_entries.c.chain_id, func.max(audit_entries.c.seq).label("seq"))
        .group_by(audit_entries.c.chain_id)
        .subquery()
    )
    result = conn.execute(
        select(audit_entries.c.chain_id, audit_entries.c.seq, audit_entries.c.hash).join(
            last,
            and_(
                audit_entries.c.chain_id == last.c.chain_id,
                audit_entries.c.seq == last.c.seq,
            ),
        )
    ).mappings()
    return {m["chain_id"]: (int(m["seq"]), m["hash"]) for m in result}


@translating
def count_entries(conn: Connection, chain_id: str | None = None) -> int:
    """How many entries there are, in one chain or in all."""
    query = select(func.count()).select_from(audit_entries)
    if chain_id is not None:
        query = query.where(audit_entries.c.chain_id == chain_id)
    return int(conn.execute(query).scalar_one())


@translating
def add_checkpoint(
    conn: Connection,
    *,
    at: datetime,
    heads: Mapping[str, tuple[int, str]],
    prev_hash: str,
    signature: str,
    key_id: str,
) -> int:
    """Store a signed checkpoint and return its ``seq``."""
    result = conn.execute(
        audit_checkpoints.insert()
        .values(
            at=at,
            heads={chain: [seq, digest] for chain, (seq, digest) in heads.items()},
            prev_hash=prev_hash,
            signature=signature,
            key_id=key_id,
        )
        .returning(audit_checkpoints.c.seq)
    )
    return int(result.scalar_one())


@translating
def checkpoints(conn: Connection) -> list[AuditCheckpointRow]:
    """Every checkpoint, oldest first."""
    result = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings()
    return [_checkpoint(m) for m in result]


@translating
def latest_checkpoint(conn: Connection) -> AuditCheckpointRow | None:
    m = (
        conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1))
        .mappings()
        .first()
    )
    return _checkpoint(m) if m is not None else None
