"""Streams audit entries to ``hub.audit``, keyed by chain, for live consumers.

The store is the auditor's source of truth (the archive outlives Kafka's
retention); the topic lets monitoring and external archives follow decisions as
they happen. Entries carry ids, codes and category names only.

With several hub processes one streamer runs at a time (:class:`SoleTurn`):
the others would publish the same entries again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

from hub.broker.topics import AUDIT
from hub.consumers.records import OutgoingMessage, Publisher
from hub.errors import BrokerError, StoreError
from hub.observability import get_logger
from hub.store import Store, audit_stream
from hub.store.audit import AuditEntryRow
from hub.store.turns import SoleTurn

__all__ = ["AuditStreamer", "entry_message"]

_log = get_logger(__name__)


def entry_message(entry: AuditEntryRow) -> OutgoingMessage:
    document = {
        "chain_id": entry.chain_id,
        "seq": entry.seq,
        "entry_id": entry.entry_id,
        "at": entry.at.isoformat(),
        "action": entry.action,
        "actor": entry.actor,
        "event_id": entry.event_id,
        "referral_id": entry.referral_id,
        "consent_id": entry.consent_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
    value = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    headers = (("content-type", b"application/json"),)
    return OutgoingMessage(AUDIT, entry.chain_id.encode(), value, headers)


class AuditStreamer:
    def __init__(
        self,
        *,
        store: Store,
        publisher: Publisher,
        batch_size: int = 1000,
        idle_s: float = 0.25,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._turn = SoleTurn(store, "audit-stream")
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_s = idle_s
        self._clock = clock
        # Where the next read starts; from the beginning after every start.
        self._position = 0

    async def run(self) -> None:
        try:
            while True:
                try:
                    sent = await self._round()
                except (BrokerError, StoreError) as exc:
                    _log.warning("audit stream round failed", error=str(exc))
                    sent = 0
                if sent < self._batch_size:
                    await asyncio.sleep(self._idle_s)
        finally:
            self._turn.release()

    async def _round(self) -> int:
        if not await asyncio.to_thread(self._turn.held):
            # Another process streams; where it got to is in the store, not here.
            self._position = 0
            return 0
        return await self.drain_once()

    async def drain_once(self) -> int:
        entries, position = await asyncio.to_thread(self._unpublished)
        if not entries:
            self._position = position
            return 0
        await self._publisher.publish([entry_message(entry) for entry in entries])
        heads: dict[str, int] = {}
        for entry in entries:
            heads[entry.chain_id] = max(entry.seq, heads.get(entry.chain_id, 0))
        await asyncio.to_thread(self._advance, heads)
        # Moved only once the entries are out: after a failure they are read again.
        self._position = position
        return len(entries)

    def _unpublished(self) -> tuple[list[AuditEntryRow], int]:
        with self._store.transaction() as conn:
            return audit_stream.unpublished(conn, self._batch_size, after=self._position)

    def _advance(self, heads: dict[str, int]) -> None:
        with self._store.transaction() as conn:
            audit_stream.advance(conn, heads, self._clock())
