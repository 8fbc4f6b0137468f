"""Social-db mode: write deliveries into the agency's own inbound table.

One transaction per agency per batch, with an insert that does nothing for an
event id already there: a redelivery writes nothing, and the commit is the
acknowledgement. An agency database that is down, locked or slow holds back
only that agency's inbox: the batch is tried again with backoff until it is
written or ``outage_wait_s`` passes (then the consumer rewinds and the batch
comes again), so an outage neither loses nor dead-letters a delivery.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

import structlog

from hub.adapters.social_db import AgencyDatabase, AgencyDatabaseError, encode_row
from hub.config import AgencyConfig
from hub.config.social_db import SocialDbDelivery
from hub.contracts import CloudEvent
from hub.errors import AdapterError, DeliveryError

__all__ = ["OnWritten", "SocialDbTransport"]

_log = structlog.get_logger(__name__)

#: Told, after the agency's commit, which events were written (or found there).
OnWritten = Callable[[str, Sequence[CloudEvent]], None]
#: Told whether an agency's database answered, for /readyz and the metrics.
OnReachability = Callable[[str, bool], None]


class SocialDbTransport:
    mode = "social-db"

    def __init__(
        self,
        *,
        on_written: OnWritten | None = None,
        on_reachability: OnReachability | None = None,
        outage_wait_s: float = 120.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._databases: dict[str, AgencyDatabase] = {}
        self._on_written = on_written
        self._on_reachability = on_reachability
        self._outage_wait_s = outage_wait_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311 - jitter, not secrecy

    def database(self, agency: AgencyConfig) -> AgencyDatabase:
        settings = _settings(agency)
        found = self._databases.get(agency.id)
        if found is None:
            found = AgencyDatabase.connect(agency.id, settings)
            self._databases[agency.id] = found
        return found

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None:
        await self.deliver_batch([(agency, event)])

    async def deliver_batch(self, items: Sequence[tuple[AgencyConfig, CloudEvent]]) -> None:
        by_agency: dict[str, list[CloudEvent]] = defaultdict(list)
        agencies: dict[str, AgencyConfig] = {}
        for agency, event in items:
            by_agency[agency.id].append(event)
            agencies[agency.id] = agency
        for agency_id in sorted(by_agency):
            await self._write(agencies[agency_id], by_agency[agency_id])

    async def _write(self, agency: AgencyConfig, events: Sequence[CloudEvent]) -> None:
        settings = _settings(agency)
        try:
            rows = [encode_row(event, settings) for event in events]
        except AdapterError as exc:
            raise DeliveryError(f"{agency.id}: {exc}", retriable=False) from exc
        deadline = time.monotonic() + self._outage_wait_s
        attempt = 0
        while True:
            attempt += 1
            try:
                database = self.database(agency)
                await asyncio.to_thread(database.write_inbound, rows)
            except AgencyDatabaseError as exc:
                self._reachable(agency.id, False)
                if not exc.retriable or time.monotonic() >= deadline:
                    raise
                delay = self._delay(attempt)
                _log.warning(
                    "agency database unavailable; retrying",
                    agency_id=agency.id,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    reason=str(exc),
                )
                await self._sleep(delay)
                continue
            self._reachable(agency.id, True)
            if self._on_written is not None:
                await asyncio.to_thread(self._on_written, agency.id, events)
            return

    def _delay(self, attempt: int) -> float:
        initial, ceiling = self._backoff
        return self._rng.uniform(0, min(ceiling, initial * 2 ** (attempt - 1)))

    def _reachable(self, agency_id: str, up: bool) -> None:
        if self._on_reachability is not None:
            self._on_reachability(agency_id, up)

    def close(self) -> None:
        for database in self._databases.values():
            database.close()
        self._databases.clear()


def _settings(agency: AgencyConfig) -> SocialDbDelivery:
    settings = agency.delivery
    if not isinstance(settings, SocialDbDelivery):
        message = f"{agency.id} is not configured for social-db delivery"
        raise DeliveryError(message, retriable=False)
    return settings
