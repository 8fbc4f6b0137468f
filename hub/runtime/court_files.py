"""Courts connected by file exchange: the transport, and each court's exchange loop.

A delivery to a court is kept in the court's inbox in the store (as for the
pull inbox, and audited as delivered in the same transaction), then written
as a file. Each court's loop takes in the files its registry wrote, records
the registry's acknowledgements, and offers again whatever is unacknowledged
and missing from the folder: a file removed unacknowledged, or one whose
writing was cut short by a crash or an unreachable share.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection

from hub.adapters import AdapterContext
from hub.adapters.court import CourtAdapter
from hub.adapters.court.exchange import CourtExchange
from hub.adapters.court.folders import FileArea, FolderError, LocalFolder, SftpFolder
from hub.adapters.directory import Directory
from hub.audit import AuditAction, AuditRecorder
from hub.config import AgencyConfig, CourtFilesDelivery, HubSettings
from hub.contracts import CloudEvent, ContractRegistry
from hub.contracts.envelope import envelope_from_mapping
from hub.delivery.pull import OnStored, PullTransport
from hub.errors import HubError
from hub.observability import HubMetrics
from hub.runtime.polled import polled_submitter
from hub.services.envelopes import consent_of_envelope, referral_of_envelope
from hub.services.vault import unseal
from hub.store import Store, inbox

__all__ = ["CourtFiles", "CourtFilesTransport"]

_log = structlog.get_logger(__name__)
_MAX_BACKOFF_S = 30.0
#: The deliveries the current batch stored new (the storing thread sees the task's context).
_stored_now: ContextVar[list[tuple[str, CloudEvent]] | None] = ContextVar(
    "court_files_stored_now", default=None
)


class CourtFilesTransport:
    """Keeps each delivery in the court's inbox, then writes it as a file."""

    mode = "court-files"

    def __init__(self, store: Store, exchanges: dict[str, CourtExchange], on_stored: OnStored):
        self._inbox = PullTransport(store, on_stored=self._stored)
        self._on_stored = on_stored
        self._exchanges = exchanges

    def _stored(
        self, conn: Connection, stored: Sequence[tuple[str, CloudEvent]], now: datetime
    ) -> None:
        self._on_stored(conn, stored, now)
        fresh = _stored_now.get()
        if fresh is not None:
            fresh.extend(stored)

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None:
        await self.deliver_batch([(agency, event)])

    async def deliver_batch(self, items: Sequence[tuple[AgencyConfig, CloudEvent]]) -> None:
        # Only events new to the inbox are written: one delivered again (a broker
        # redelivery) may be acknowledged already, and its file long gone. One
        # stored but never written is the court's loop's to offer.
        fresh: list[tuple[str, CloudEvent]] = []
        token = _stored_now.set(fresh)
        try:
            await self._inbox.deliver_batch(items)
        finally:
            _stored_now.reset(token)
        by_agency: dict[str, list[CloudEvent]] = {}
        for agency_id, event in fresh:
            by_agency.setdefault(agency_id, []).append(event)
        for agency_id, events in by_agency.items():
            exchange = self._exchanges.get(agency_id)
            if exchange is None:
                continue
            try:
                await exchange.offer(events)
            except (FolderError, HubError) as exc:
                # Kept in the inbox: the court's loop writes it once the folder answers.
                _log.warning("court folder unavailable", agency_id=agency_id, reason=str(exc))
            except Exception as exc:
                # Delivered already (the inbox row is committed): whatever went wrong
                # writing the file, the court's loop offers it again, so it is not
                # a failed delivery to retry or dead-letter.
                _log.error(
                    "court file not written", agency_id=agency_id, error_type=type(exc).__name__
                )


class CourtFiles:
    """Everything the hub runs for the courts it exchanges files with."""

    def __init__(
        self,
        *,
        settings: HubSettings,
        store: Store,
        registry: ContractRegistry,
        audit: AuditRecorder | None,
        metrics: HubMetrics,
        on_stored: OnStored,
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
        self._polled = polled_submitter(store, registry, audit, metrics, clock)
        directory = Directory.from_settings(settings)
        self.exchanges: dict[str, CourtExchange] = {}
        for agency in settings.agencies:
            if isinstance(agency.delivery, CourtFilesDelivery):
                self.exchanges[agency.id] = _exchange(agency, agency.delivery, settings, directory)
        self.transport = CourtFilesTransport(store, self.exchanges, on_stored)

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self._loop(e) for e in self.exchanges.values()))
        finally:
            for exchange in self.exchanges.values():
                await exchange.area.close()

    async def _loop(self, exchange: CourtExchange) -> None:
        interval = exchange.settings.poll_interval_s
        delay = interval
        prepared = False
        while True:
            try:
                if not prepared:
                    await exchange.prepare()
                    prepared = True
                await self.cycle(exchange)
                delay = interval
            except FolderError as exc:
                _log.warning(
                    "court folder unavailable", agency_id=exchange.agency_id, reason=str(exc)
                )
                delay = min(_MAX_BACKOFF_S, delay * 2)
            except Exception as exc:
                # One court's trouble (its store writes, what its side left in the
                # folders) must not end the loops of the others: logged, retried.
                _log.error(
                    "court exchange failed",
                    agency_id=exchange.agency_id,
                    error_type=type(exc).__name__,
                )
                delay = min(_MAX_BACKOFF_S, delay * 2)
            await asyncio.sleep(delay)

    async def cycle(self, exchange: CourtExchange) -> None:
        """One pass: files in, acknowledgements, and files offered again."""
        agency_id = exchange.agency_id
        receipts = await exchange.take_in(lambda events: self._submit(agency_id, events))
        accepted = sum(receipt.accepted for receipt in receipts)
        if accepted:
            self._on_accepted()
        for receipt in receipts:
            outcome = "rejected" if receipt.refused is not None else "processed"
            self._metrics.court_files.labels(agency_id, outcome).inc()
        acked, removed = await exchange.acknowledged()
        if acked:
            await asyncio.to_thread(self._acknowledge, agency_id, acked)
        await self._offer_missing(exchange, {item.event_id for item in removed})

    async def _offer_missing(self, exchange: CourtExchange, removed: set[str]) -> None:
        listed = {item.event_id for item in await exchange.manifest()}
        pending = await asyncio.to_thread(self._unacknowledged, exchange.agency_id)
        self._metrics.court_files_unacknowledged.labels(exchange.agency_id).set(len(pending))
        again = [e for e in pending if e.id in removed or e.id not in listed]
        if again:
            await exchange.offer(again)
            self._metrics.court_files_reoffered.labels(exchange.agency_id).inc(len(again))

    def _submit(self, agency_id: str, events: Sequence[CloudEvent]) -> list[HubError | None]:
        return self._polled(agency_id, events)

    def _unacknowledged(self, agency_id: str) -> list[CloudEvent]:
        events = []
        with self._store.transaction() as conn:
            after = 0
            while True:
                rows = inbox.list_after(conn, agency_id, after_seq=after, limit=500)
                for row in rows:
                    envelope = unseal(conn, row.envelope)
                    if envelope is not None:  # erased since: nothing left to offer
                        events.append(envelope_from_mapping(envelope))
                if len(rows) < 500:
                    return events
                after = rows[-1].seq

    def _acknowledge(self, agency_id: str, event_ids: set[str]) -> None:
        now = self._clock()
        with self._store.transaction() as conn:
            for event_id in sorted(event_ids):
                self._ack_one(conn, agency_id, event_id, now)

    def _ack_one(self, conn: Connection, agency_id: str, event_id: str, now: datetime) -> None:
        # A registry names event ids only; all of the court's events with that id are
        # acknowledged (ids shared by two sources are the hub's own notice ids' concern).
        for row in inbox.with_id(conn, agency_id, event_id):
            if row.acked_at is None:
                self._ack_row(conn, agency_id, row, now)

    def _ack_row(
        self, conn: Connection, agency_id: str, row: inbox.InboxRow, now: datetime
    ) -> None:
        event_id = row.event_id
        inbox.ack(conn, agency_id, (row.source, event_id), now)
        if self._audit is not None:
            self._audit.record(
                conn,
                action=AuditAction.ACKNOWLEDGED,
                actor=agency_id,
                at=now,
                event_id=event_id,
                referral_id=referral_of_envelope(row.envelope),
                consent_id=consent_of_envelope(row.envelope),
                details={"recipient": agency_id, "by": "court-files"},
            )


def _exchange(
    agency: AgencyConfig,
    delivery: CourtFilesDelivery,
    settings: HubSettings,
    directory: Directory,
) -> CourtExchange:
    area: FileArea = (
        SftpFolder.from_environment(delivery.sftp) if delivery.sftp is not None else LocalFolder()
    )
    options: dict[str, str] = {"format": delivery.format}
    if delivery.csv_columns:
        options["csv_columns"] = json.dumps(delivery.csv_columns)
    adapter = CourtAdapter(
        AdapterContext(
            settings.pseudonym_key.get_secret_value().encode(),
            source=agency.id,
            options=options,
            directory=directory,
        )
    )
    return CourtExchange(agency.id, delivery, area, adapter)
