"""Hash chains of audit entries, and the recorder that appends to them.

Every entry carries the hash of the entry before it in its chain, so changing,
removing or reordering an entry breaks every link after it. There is one chain
per referral, one per consent not tied to a referral, and one for the hub
itself (:func:`hub.audit.entries.chain_id_for`): workers handling different
referrals never wait for each other, and one referral's history verifies on its
own.

An entry's ``hash`` is the hex SHA-256 of the canonical JSON
(:mod:`hub.audit._canonical`) of the array::

    ["audit-entry/2", chain_id, seq, entry_id, at, action, actor,
     event_id, referral_id, consent_id, details, prev_hash]

with ``at`` in microseconds since the Unix epoch, absent ids as ``null`` and
``details`` as an object. It covers every stored field but ``hash`` itself.
The first entry of a chain has ``seq`` 1 and a ``prev_hash`` of 64 zeros.

The recorder appends inside the caller's transaction, so a state change and
the entries that record it commit or roll back together; a batch of entries
(:meth:`AuditRecorder.record_many`) costs a few statements, not a few per entry.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection

from hub.audit._canonical import (
    ENTRY_FORMAT,
    GENESIS_HASH,
    canonical_sha256,
    utc_micros,
)
from hub.audit._locks import lock_chain, try_lock_chain, try_lock_checkpoints
from hub.audit.checkpoints import checkpoint_hash, write_checkpoint
from hub.audit.entries import HUB_CHAIN, AuditAction, Details, chain_id_for, validate_details
from hub.audit.signing import Signer
from hub.config import AuditSettings
from hub.store import AuditCheckpointRow, AuditEntryRow
from hub.store import audit as audit_store

__all__ = [
    "AuditRecorder",
    "EntryDraft",
    "EntryIds",
    "append_entries",
    "append_entry",
    "entry_hash",
    "new_entry_id",
    "next_entry",
]

#: Makes the id of each new entry: unique across the whole log, as the store demands.
EntryIds: TypeAlias = Callable[[], str]


def new_entry_id() -> str:
    """A random UUID, the id an entry gets unless a recorder is given another source."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry to append: what :meth:`AuditRecorder.record` takes as keyword arguments."""

    action: AuditAction
    actor: str
    at: datetime
    event_id: str | None = None
    referral_id: str | None = None
    consent_id: str | None = None
    details: Mapping[str, object] | None = None


def _hashed(row: AuditEntryRow) -> tuple[Any, ...]:
    # A tuple, not a list: JSON writes both as an array, and a tuple is the
    # cheaper of the two to build for every entry a verifier reads.
    return (
        ENTRY_FORMAT,
        row.chain_id,
        row.seq,
        row.entry_id,
        utc_micros(row.at),
        row.action,
        row.actor,
        row.event_id,
        row.referral_id,
        row.consent_id,
        row.details,
        row.prev_hash,
    )


def entry_hash(row: AuditEntryRow) -> str:
    """The hash ``row`` should carry, computed from its other fields."""
    return canonical_sha256(_hashed(row))


@dataclass(frozen=True, slots=True)
class _Checked:
    """A draft that passed the checks, its action and details in stored form."""

    draft: EntryDraft
    action: str
    details: Details


def _checked(draft: EntryDraft) -> _Checked:
    """ValueError if ``draft`` is unfit to store: a naive time, an unknown action, unfit details."""
    utc_micros(draft.at)
    return _Checked(draft, AuditAction(draft.action).value, validate_details(draft.details))


def _following(
    checked: _Checked, *, chain_id: str, entry_id: str, seq: int, prev_hash: str
) -> AuditEntryRow:
    draft = checked.draft
    row = AuditEntryRow(
        chain_id=chain_id,
        seq=seq,
        entry_id=entry_id,
        at=draft.at,
        action=checked.action,
        actor=draft.actor,
        event_id=draft.event_id,
        referral_id=draft.referral_id,
        consent_id=draft.consent_id,
        details=checked.details,
        prev_hash=prev_hash,
        hash="",
    )
    return replace(row, hash=entry_hash(row))


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
    draft = EntryDraft(action, actor, at, event_id, referral_id, consent_id, details)
    return _following(
        _checked(draft),
        chain_id=chain_id,
        entry_id=entry_id,
        seq=head.seq + 1 if head is not None else 1,
        prev_hash=head.hash if head is not None else GENESIS_HASH,
    )


def append_entries(
    conn: Connection, drafts: Sequence[EntryDraft], *, entry_ids: EntryIds = new_entry_id
) -> list[AuditEntryRow]:
    """Append each draft to its chain, in order, in the caller's transaction; return the entries.

    The same entries as appending the drafts one by one, in a few statements:
    every draft is checked before anything is read or locked (ValueError for
    the first unfit one), each chain is locked once, in sorted order, so two
    batches sharing chains cannot deadlock on PostgreSQL, the heads are read
    in one query and the entries stored in one. The locks are held until the
    transaction ends, so concurrent appends to a chain queue instead of forking it.
    """
    if not drafts:
        return []
    checked = [_checked(draft) for draft in drafts]
    chain_ids = [chain_id_for(draft.referral_id, draft.consent_id) for draft in drafts]
    distinct = sorted(set(chain_ids))
    for chain_id in distinct:
        lock_chain(conn, chain_id)
    # Every chain but the hub's is short; its head is read on its own.
    heads = audit_store.chain_heads(conn, [chain for chain in distinct if chain != HUB_CHAIN])
    if HUB_CHAIN in distinct:
        hub_head = audit_store.chain_head(conn, HUB_CHAIN)
        if hub_head is not None:
            heads[HUB_CHAIN] = (hub_head.seq, hub_head.hash)
    rows: list[AuditEntryRow] = []
    for entry, chain_id in zip(checked, chain_ids, strict=True):
        seq, prev_hash = heads.get(chain_id, (0, GENESIS_HASH))
        row = _following(
            entry, chain_id=chain_id, entry_id=entry_ids(), seq=seq + 1, prev_hash=prev_hash
        )
        heads[chain_id] = (row.seq, row.hash)
        rows.append(row)
    audit_store.append_entries(conn, rows)
    return rows


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
    draft = EntryDraft(action, actor, at, event_id, referral_id, consent_id, details)
    return append_entries(conn, [draft])[0]


class AuditRecorder:
    """Appends audit entries and writes a signed checkpoint every so many of them.

    One recorder is shared by the workers of a process; it is thread-safe. The
    count of entries is kept per recorder, so with several processes a
    checkpoint comes roughly every ``checkpoint_every`` entries of each, and
    at most once every ``checkpoint_interval_s`` seconds, which bounds the
    checkpoint work under load by time rather than by volume.
    ``actor`` names the hub in the entries it makes on its own (checkpoints);
    ``entry_ids`` makes each new entry's id (random UUIDs unless given).
    """

    def __init__(
        self,
        *,
        signer: Signer | None,
        checkpoint_every: int = 200,
        checkpoint_interval_s: float = 0.0,
        actor: str = "hub",
        clock: Callable[[], float] = time.monotonic,
        entry_ids: EntryIds = new_entry_id,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self._signer = signer
        self._every = checkpoint_every
        self._interval_s = checkpoint_interval_s
        self._clock = clock
        self._entry_ids = entry_ids
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
        draft = EntryDraft(action, actor, at, event_id, referral_id, consent_id, details)
        return self.record_many(conn, [draft])[0]

    def record_many(self, conn: Connection, drafts: Sequence[EntryDraft]) -> list[AuditEntryRow]:
        """Append the drafts in order in the caller's transaction; ValueError for an unfit one.

        The same entries as :meth:`record` for each draft in turn, in a few
        statements (see :func:`append_entries`), and at most one checkpoint
        for the whole batch, dated by its newest entry. Nothing is stored when
        a draft is unfit.
        """
        rows = append_entries(conn, drafts, entry_ids=self._entry_ids)
        if rows and self._checkpoint_due(len(rows)):
            # The caller's transaction may hold chain locks that another
            # transaction waiting on the hub chain needs: waiting here could
            # deadlock, so a busy lock postpones the checkpoint to the next entry.
            if try_lock_chain(conn, HUB_CHAIN) and try_lock_checkpoints(conn):
                self._write_checkpoint(conn, max(row.at for row in rows))
            else:
                self._postpone_checkpoint()
        return rows

    def _checkpoint_due(self, recorded: int) -> bool:
        with self._lock:
            self._count += recorded
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
        note = EntryDraft(
            AuditAction.CHECKPOINT,
            self._actor,
            at,
            details={"checkpoint": row.seq, "hash": checkpoint_hash(row), "key_id": row.key_id},
        )
        append_entries(conn, [note], entry_ids=self._entry_ids)
        return row
