"""Agencies connected by their own database: capture loops, the transport, their health.

At start-up each social-db agency's tables are checked against its mapping;
an agency whose database has drifted, or cannot be reached, is reported
(log, ``hub_agency_database_up``, ``/readyz``) and left out of capture until
it is mended, while the hub serves every other agency. Each agency's capture
polls on its own, backing off while its database is unreachable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from hub.adapters.social_db import (
    AgencyDatabase,
    AgencyDatabaseError,
    ChangeCapture,
    check_schema,
)
from hub.audit import AuditAction, AuditRecorder
from hub.config import AgencyConfig, HubSettings, SocialDbDelivery
from hub.consumers.auditing import delivered_entry
from hub.contracts import CloudEvent, ContractRegistry
from hub.delivery.social_db import SocialDbTransport
from hub.errors import HubError
from hub.observability import HubMetrics
from hub.runtime.polled import polled_submitter
from hub.store import Store, processed

__all__ = ["SocialDbAgencies"]

_log = structlog.get_logger(__name__)

_MAX_BACKOFF_S = 30.0


class SocialDbAgencies:
    """Everything the hub runs for the agencies it reaches through their databases."""

    def __init__(
        self,
        *,
        settings: HubSettings,
        store: Store,
        registry: ContractRegistry,
        audit: AuditRecorder | None,
        metrics: HubMetrics,
        on_accepted: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._registry = registry
        self._audit = audit
        self._metrics = metrics
        self._on_accepted = on_accepted
        self._clock = clock
        self._up: dict[str, bool] = {}
        self._polled = polled_submitter(store, registry, audit, metrics, clock)
        self.agencies = [a for a in settings.agencies if isinstance(a.delivery, SocialDbDelivery)]
        self.transport = SocialDbTransport(
            on_written=self._written,
            on_reachability=self._reachable,
            backoff_initial_s=settings.delivery.backoff_initial_s,
            backoff_max_s=settings.delivery.backoff_max_s,
        )

    def reachability(self) -> dict[str, bool]:
        """Whether each agency database answered last time the hub tried it."""
        return dict(self._up)

    async def run(self) -> None:
        """Check each agency's schema, then capture what each sends, until cancelled."""
        loops = [self._capture(agency) for agency in self.agencies if _sends(agency)]
        try:
            await asyncio.gather(*loops)
        finally:
            self.transport.close()

    async def _capture(self, agency: AgencyConfig) -> None:
        settings = agency.delivery
        assert isinstance(settings, SocialDbDelivery)
        delay = settings.poll_interval_s
        capture: ChangeCapture | None = None
        while True:
            try:
                if capture is None:
                    capture = await asyncio.to_thread(self._start, agency, settings)
                report = await asyncio.to_thread(capture.poll_once)
            except AgencyDatabaseError as exc:
                self._reachable(agency.id, False)
                _log.warning("agency database unavailable", agency_id=agency.id, reason=str(exc))
                delay = min(_MAX_BACKOFF_S, delay * 2)
                if not exc.retriable:
                    capture = None
            else:
                self._reachable(agency.id, True)
                delay = settings.poll_interval_s
                self._metrics.agency_rows_taken.labels(agency.id, "accepted").inc(
                    len(report.accepted)
                )
                if report.accepted:
                    self._on_accepted()
            await asyncio.sleep(delay)

    def _start(self, agency: AgencyConfig, settings: SocialDbDelivery) -> ChangeCapture:
        database = AgencyDatabase.connect(agency.id, settings)
        mismatches = check_schema(database)
        if mismatches:
            database.close()
            for mismatch in mismatches:
                _log.error(
                    "agency database differs from its mapping",
                    agency_id=agency.id,
                    mismatch=str(mismatch),
                )
            raise AgencyDatabaseError(
                f"{agency.id}: {len(mismatches)} mismatches with the mapping "
                f"(see: hub adapters check social-db --agency {agency.id})",
                retriable=False,
            )
        database.ensure_ledger()
        return ChangeCapture(
            database,
            pseudonym_key=self._settings.pseudonym_key.get_secret_value().encode(),
            submit=lambda events: self._submit(agency.id, events),
            on_refused=self._refused,
            clock=self._clock,
        )

    def _submit(self, agency_id: str, events: Sequence[CloudEvent]) -> list[HubError | None]:
        return self._polled(agency_id, events)

    def _refused(self, agency_id: str, table: str, _key: str, _reason: str) -> None:
        # The ledger in the agency's database keeps the reason for its IT team;
        # the hub's log names only the table, since a reason may quote a value.
        self._metrics.agency_rows_taken.labels(agency_id, "refused").inc()
        _log.warning("agency row refused", agency_id=agency_id, table=table)
        if self._audit is None:
            return
        with self._store.transaction() as conn:
            self._audit.record(
                conn,
                action=AuditAction.REFUSED,
                actor=agency_id,
                at=self._clock(),
                event_id=None,
                details={"reason": "undecodable-row", "table": table},
            )

    def _written(self, agency_id: str, events: Sequence[CloudEvent]) -> None:
        """Record each delivery once, however often its row was written."""
        now = self._clock()
        with self._store.transaction() as conn:
            keys = [(event.source, event.id) for event in events]
            claimed = processed.claim_many(conn, f"delivery:{agency_id}", keys, now)
            if self._audit is None:
                return
            entries = [
                delivered_entry(
                    event=event,
                    recipient=agency_id,
                    registry=self._registry,
                    hub_id=self._settings.hub_id,
                    at=now,
                )
                for event in events
                if (event.source, event.id) in claimed
            ]
            self._audit.record_many(conn, entries)

    def _reachable(self, agency_id: str, up: bool) -> None:
        self._up[agency_id] = up
        self._metrics.agency_database_up.labels(agency_id).set(1 if up else 0)


def _sends(agency: AgencyConfig) -> bool:
    return isinstance(agency.delivery, SocialDbDelivery) and bool(agency.delivery.outgoing)
