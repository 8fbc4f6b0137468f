"""The outbox relay: publishes accepted events to ``hub.ingress``, then marks them sent.

Events go out as they are stored, their data sealed under the subject's key
(:mod:`hub.consumers.sealing`); an erased subject's are not published at all.

Accepting an event and publishing it are two steps with a durable table
between them: the HTTP answer never waits for Kafka, and a crash after
publishing but before marking only republishes events that the router
de-duplicates by id. Nothing accepted is lost, nothing is created twice.

Any number of relays may share one PostgreSQL store: each leases the rows it
publishes (:func:`hub.store.outbox.claim`) for ``lease_s``, publishes without
a transaction open, then marks them. Rows whose relay died are claimed again
once the lease lapses; a publish slower than the lease may be repeated by
another relay, which the router de-duplicates like any republish.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.consumers.records import OutgoingMessage, Publisher
from hub.consumers.sealing import keys_live, seal_unsealed, sealed_message
from hub.contracts.envelope import without_foreign_extensions
from hub.errors import BrokerError, StoreError
from hub.observability import HubMetrics, get_logger
from hub.store import Store, outbox
from hub.store.outbox import OutboxRow

__all__ = ["OutboxRelay"]

_log = get_logger(__name__)


class OutboxRelay:
    def __init__(
        self,
        *,
        store: Store,
        publisher: Publisher,
        metrics: HubMetrics,
        batch_size: int = 500,
        idle_s: float = 0.05,
        lease_s: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._idle_s = idle_s
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Something was just accepted: publish now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; a failed round is retried after a pause."""
        failures = 0
        while True:
            try:
                sent = await self.drain_once()
                failures = 0
            except (BrokerError, StoreError) as exc:
                failures += 1
                _log.warning("outbox relay round failed", error=str(exc), attempt=failures)
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if sent < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_s)
                self._wake.clear()

    async def drain_once(self) -> int:
        """Publish one batch of pending events; returns how many were sent."""
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            self._metrics.outbox_pending.set(0)
            return 0
        seqs = [row.seq for row, _ in rows]
        messages = [_message(row, envelope) for row, envelope in rows if envelope is not None]
        try:
            await self._publisher.publish(messages)
        except (BrokerError, asyncio.CancelledError):
            # Let any relay retry them now rather than after the lease.
            await asyncio.to_thread(self._release, seqs)
            raise
        await asyncio.to_thread(self._mark, seqs)
        return len(rows)

    def _claim(self) -> list[tuple[OutboxRow, dict[str, Any] | None]]:
        """Pending rows leased to this relay, their data sealed; None for a subject since erased."""
        now = self._clock()
        with self._store.transaction() as conn:
            rows = outbox.claim(conn, self._batch_size, now=now, until=now + self._lease)
            envelopes = [seal_unsealed(conn, row.key, row.envelope, now) for row in rows]
            sealed = [envelope for envelope in envelopes if envelope is not None]
            alive = iter(keys_live(conn, sealed))
            return [
                (row, envelope if envelope is not None and next(alive) else None)
                for row, envelope in zip(rows, envelopes, strict=True)
            ]

    def _release(self, seqs: list[int]) -> None:
        with self._store.transaction() as conn:
            outbox.release(conn, seqs)

    def _mark(self, seqs: list[int]) -> None:
        with self._store.transaction() as conn:
            outbox.mark_published(conn, seqs, self._clock())


def _message(row: OutboxRow, envelope: dict[str, Any]) -> OutgoingMessage:
    # Events accepted before foreign extensions were refused go out without them.
    return sealed_message(row.topic, row.key, without_foreign_extensions(envelope))
