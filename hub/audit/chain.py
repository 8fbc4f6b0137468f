"""Hash chains of audit entries, and the recorder that appends to them.

Every entry carries the hash of the entry before it in its chain, so changing,
removing or reordering an entry breaks every link after it. There is one chain
per referral, one per consent not tied to a referral, and one for the hub
itself (:func:`hub.audit.entries.chain_id_for`): workers handling different
referrals never wait for each other, and one referral's history verifies on its
own.

``hash = sha256(prev_hash + canonical_json(entry))`` in hex, where the entry's
canonical JSON covers every stored field except ``hash`` itself, ``chain_id``,
``seq`` and ``prev_hash`` included. The first entry of a chain has a
``prev_hash`` of 64 zeros.

The recorder appends inside the caller's transaction, so a state change and
the entry that records it commit or roll back together.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit._canonical import GENESIS_HASH, canonical_json, iso_time, sha256_hex
from hub.audit._locks import lock_chain, try_lock_chain, try_lock_checkpoints
from hub.audit.checkpoints import checkpoint_hash, write_checkpoint
from hub.audit.entries import HUB_CHAIN, AuditAction, chain_id_for, validate_details
from hub.audit.signing import Signer
from hub.config import AuditSettings
from hub.store import AuditCheckpointRow, AuditEntryRow
from hub.store import audit as audit_store

__all__ = ["AuditRecorder", "append_entry", "entry_hash", "next_entry"]


def _hashed_fields(row: AuditEntryRow) -> dict[str, Any]:
    return {
        "action": row.action,
        "actor": row.actor,
        "at": iso_time(row.at),
        "chain_id": row.chain_id,
        "consent_id": row.consent_id,
        "details": row.details,
        "entry_id": row.entry_id,
        "event_id": row.event_id,
        "prev_hash": row.prev_hash,
        "referral_id": row.referral_id,
        "seq": row.seq,
    }


def entry_hash(row: AuditEntryRow) -> str:
    """The hash ``row`` should carry, computed from its other fields."""
    return sha256_hex(row.prev_hash.encode("utf-8"), canonical_json(_hashed_fields(row)))


def next_entry(
    head: AuditEntryRow | None,
    *,
    chain_id: str,
    entry_id: str,
    action: AuditAction,
    actor: str,
    at: datetime,
    event_id: str | None = None,
    referral_id: str | None = None,
    consent_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> AuditEntryRow:
    """The entry that follows ``head`` (None: the chain's first), hash included."""
    iso_time(at)  # refuse a naive time before anything is stored
    draft = AuditEntryRow(
        chain_id=chain_id,
        seq=head.seq + 1 if head is not None else 1,
        entry_id=entry_id,
        at=at,
        action=AuditAction(action).value,
        actor=actor,
        event_id=event_id,
        referral_id=referral_id,
        consent_id=consent_id,
        details=validate_details(details),
        prev_hash=head.hash if head is not None else GENESIS_HASH,
        hash="",
    )
    return replace(draft, hash=entry_hash(draft))


def append_entry(
    conn: Connection,
    *,
    action: AuditAction,
    actor: str,
    at: datetime,
    event_id: str | None = None,
    referral_id: str | None = None,
    consent_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> AuditEntryRow:
    """Append one entry to its chain in the caller's transaction and return it.

    Holds the chain's lock until the transaction ends, so concurrent appends to
    one chain queue instead of forking it.
    """
    chain_id = chain_id_for(referral_id, consent_id)
    lock_chain(conn, chain_id)
    row = next_entry(
        audit_store.chain_head(conn, chain_id),
        chain_id=chain_id,
        entry_id=str(uuid.uuid4()),
        action=action,
        actor=actor,
        at=at,
        event_id=event_id,
        referral_id=referral_id,
        consent_id=consent_id,
        details=details,
    )
    audit_store.append_entry(conn, row)
    return row


class AuditRecorder:
    """Appends audit entries and writes a signed checkpoint every so many of them.

    One recorder is shared by the workers of a process; it is thread-safe. The
    count of entries is kept per recorder, so with several processes a
    checkpoint comes roughly every ``checkpoint_every`` entries of each, and
    at most once every ``checkpoint_interval_s`` seconds: a checkpoint covers
    every chain head, so under load its cost is bounded by time, not by volume.
    ``actor`` names the hub in the entries it makes on its own (checkpoints).
    """

    def __init__(
        self,
        *,
        signer: Signer | None,
        checkpoint_every: int = 200,
        checkpoint_interval_s: float = 0.0,
        actor: str = "hub",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self._signer = signer
        self._every = checkpoint_every
        self._interval_s = checkpoint_interval_s
        self._clock = clock
        self._last_checkpoint = float("-inf")
        self._actor = actor
        self._count = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AuditSettings, *, actor: str = "hub") -> AuditRecorder:
        """The recorder the configuration describes; ConfigError for a broken key."""
        return cls(
            signer=Signer.from_settings(settings),
            checkpoint_every=settings.checkpoint_every,
            checkpoint_interval_s=settings.checkpoint_interval_s,
            actor=actor,
        )

    @property
    def signer(self) -> Signer | None:
        return self._signer

    def record(
        self,
        conn: Connection,
        *,
        action: AuditAction,
        actor: str,
        at: datetime,
        event_id: str | None = None,
        referral_id: str | None = None,
        consent_id: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> AuditEntryRow:
        """Append an entry in the caller's transaction; ValueError for unfit details."""
        row = append_entry(
            conn,
            action=action,
            actor=actor,
            at=at,
            event_id=event_id,
            referral_id=referral_id,
            consent_id=consent_id,
            details=details,
        )
        if self._checkpoint_due():
            # The caller's transaction may hold chain locks that another
            # transaction waiting on the hub chain needs: waiting here could
            # deadlock, so a busy lock postpones the checkpoint to the next entry.
            if try_lock_chain(conn, HUB_CHAIN) and try_lock_checkpoints(conn):
                self._write_checkpoint(conn, at)
            else:
                self._postpone_checkpoint()
        return row

    def _checkpoint_due(self) -> bool:
        with self._lock:
            self._count += 1
            if self._count < self._every:
                return False
            now = self._clock()
            if now - self._last_checkpoint < self._interval_s:
                return False
            self._count = 0
            self._last_checkpoint = now
            return True

    def _postpone_checkpoint(self) -> None:
        with self._lock:
            self._count = max(self._count, self._every - 1)

    def checkpoint(self, conn: Connection, at: datetime) -> AuditCheckpointRow:
        """Write a checkpoint now, waiting for the locks it needs, and note it in the hub chain.

        For transactions that hold no chain locks yet: a command, a shutdown.
        """
        lock_chain(conn, HUB_CHAIN)
        return self._write_checkpoint(conn, at)

    def _write_checkpoint(self, conn: Connection, at: datetime) -> AuditCheckpointRow:
        # The hub chain's entry binds the checkpoint into the log, so removing
        # the latest checkpoint is caught through the entry.
        row = write_checkpoint(conn, self._signer, at)
        append_entry(
            conn,
            action=AuditAction.CHECKPOINT,
            actor=self._actor,
            at=at,
            details={"checkpoint": row.seq, "hash": checkpoint_hash(row), "key_id": row.key_id},
        )
        return row
