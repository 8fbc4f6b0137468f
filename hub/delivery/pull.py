"""Pull mode: the event waits in the agency's inbox table for ``GET /v1/inbox``."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from hub.config import AgencyConfig
from hub.contracts import CloudEvent
from hub.services.envelopes import event_key
from hub.services.vault import seal_many
from hub.store import Store, inbox

__all__ = ["OnStored", "PullTransport"]

#: Called inside the storing transaction with the ``(agency id, event)`` pairs
#: new to their mailboxes, so what is recorded about the deliveries commits
#: with the deliveries themselves.
OnStored = Callable[[Connection, Sequence[tuple[str, CloudEvent]], datetime], None]


class PullTransport:
    mode = "pull"

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_stored: OnStored | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_stored = on_stored

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None:
        await self.deliver_batch([(agency, event)])

    async def deliver_batch(self, items: Sequence[tuple[AgencyConfig, CloudEvent]]) -> None:
        """Store many events in one transaction; the inbox ignores ones it holds."""
        await asyncio.to_thread(self._store_events, items)

    def _store_events(self, items: Sequence[tuple[AgencyConfig, CloudEvent]]) -> None:
        now = self._clock()
        # One fixed order: PostgreSQL locks each mailbox until commit, and two
        # batches taking the same locks in different orders would deadlock.
        by_agency: dict[str, list[CloudEvent]] = defaultdict(list)
        for agency, event in items:
            by_agency[agency.id].append(event)
        stored: list[tuple[str, CloudEvent]] = []
        with self._store.transaction() as conn:
            for agency_id in sorted(by_agency):
                events = by_agency[agency_id]
                sealed = zip(events, seal_many(conn, events, now), strict=True)
                added = inbox.add_many(
                    conn,
                    agency_id,
                    [(event_key(event), envelope) for event, envelope in sealed if envelope],
                    now,
                )
                for event in events:
                    if event_key(event) in added:
                        # The same event twice in a batch is stored once.
                        added.discard(event_key(event))
                        stored.append((agency_id, event))
            if stored and self._on_stored is not None:
                self._on_stored(conn, stored, now)
