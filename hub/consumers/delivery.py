"""Delivery workers: consume agency inboxes and hand each event to its agency.

Each event is delivered in its agency's mode through a :class:`Transport`.
Failed attempts are retried with exponential backoff and jitter; after the last
one the event is recorded in the store for replay, the sender is told (its
notice journalled in the same transaction, so it is published only after the
commit), and the record goes to ``agency.<id>.dlq`` with the reason. Before
every attempt the consent the event travels under is checked again, so a
withdrawal cancels pending retries.
Agencies are served concurrently: one slow endpoint delays only its own inbox.

Inbox records hold the event's data sealed under the subject's key; it is
opened only here, to hand it to the agency over its own channel. An erased
subject's copy goes to the dead-letter topic, "subject erased", still sealed.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.audit import AuditAction, AuditRecorder
from hub.broker.topics import dlq_topic
from hub.config import AgencyConfig, DeliverySettings
from hub.consumers.auditing import delivered_entry, referral_of
from hub.consumers.journal import hand_to_relay, journal_copy
from hub.consumers.records import IncomingRecord, OutgoingMessage, Publisher
from hub.consumers.routing import notice_id
from hub.consumers.sealing import OpenedRecord, open_records
from hub.contracts import CloudEvent, ContractRegistry, default_registry, from_kafka, new_event
from hub.contracts.envelope import DLQ_REASON_HEADER
from hub.contracts.events import DeliveryFailedV1, FailureReason
from hub.delivery import BatchTransport, Transport
from hub.delivery.retry import backoff_delay
from hub.errors import BrokerError, ContractError, DeliveryError
from hub.observability import HubMetrics, get_logger
from hub.services.envelopes import event_key
from hub.services.vault import seal_unless_erased
from hub.store import EventKey, Store, consents, processed
from hub.store import dead_letters as dead_letter_store

__all__ = ["DeliveryWorker"]

_log = get_logger(__name__)
_INBOX_PREFIX, _INBOX_SUFFIX = "agency.", ".inbox"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class _Notice:
    """A hub notice to the agency that sent an event which could not be delivered."""

    source_recipient: str
    event: CloudEvent


@dataclass(frozen=True)
class _Failure:
    agency: AgencyConfig
    event: CloudEvent | None
    record: IncomingRecord
    reason: str
    attempts: int


class DeliveryWorker:
    def __init__(
        self,
        *,
        store: Store,
        agencies: Mapping[str, AgencyConfig],
        transports: Mapping[str, Transport],
        publisher: Publisher,
        metrics: HubMetrics,
        settings: DeliverySettings,
        hub_id: str,
        audit: AuditRecorder | None = None,
        registry: ContractRegistry | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._audit = audit or AuditRecorder(signer=None, actor=hub_id)
        self._registry = registry or default_registry()
        self._store = store
        self._agencies = agencies
        self._transports = transports
        self._publisher = publisher
        self._metrics = metrics
        self._settings = settings
        self._hub_id = hub_id
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy

    async def handle(self, records: Sequence[IncomingRecord]) -> None:
        """Deliver one batch; returns once every event is delivered, excluded or dead."""
        by_agency: dict[str, list[tuple[IncomingRecord, CloudEvent | None]]] = defaultdict(list)
        failures: list[_Failure] = []
        for opened in await asyncio.to_thread(self._open, records):
            record = opened.record
            agency = self._agencies.get(_agency_of(record.topic))
            if agency is None:
                continue  # an inbox of an agency no longer configured: nothing to hand it to
            if opened.value is None:
                # An erased subject's copy: nobody may read it any more.
                failures.append(_Failure(agency, None, record, opened.refusal or "unreadable", 0))
                continue
            try:
                event: CloudEvent | None = from_kafka(record.key, opened.value, record.headers)
            except ContractError as exc:
                failures.append(_Failure(agency, None, record, f"unreadable: {exc}", 0))
                continue
            by_agency[agency.id].append((record, event))
        found = [event for items in by_agency.values() for _, event in items if event is not None]
        cancelled = await asyncio.to_thread(self._cancelled, found)
        batchable: list[tuple[AgencyConfig, CloudEvent]] = []
        singles: dict[str, list[tuple[IncomingRecord, CloudEvent]]] = {}
        for agency_id, items in by_agency.items():
            agency = self._agencies[agency_id]
            live = [(r, e) for r, e in items if e is not None and event_key(e) not in cancelled]
            transport = self._transports.get(agency.delivery.mode)
            if isinstance(transport, BatchTransport):
                batchable.extend((agency, event) for _, event in live)
            else:
                singles[agency_id] = live
        if batchable:
            await self._deliver_batch(batchable)
        results = await asyncio.gather(
            *(self._deliver_in_order(self._agencies[a], items) for a, items in singles.items())
        )
        for agency_failures in results:
            failures.extend(agency_failures)
        if failures:
            await self._dead_letter(failures)
        if cancelled:
            self._metrics.blocked.labels("consent-withdrawn-in-flight").inc(len(cancelled))
            for agency_id, items in by_agency.items():
                for _, event in items:
                    if event is not None and event_key(event) in cancelled:
                        await asyncio.to_thread(self._note_cancelled, agency_id, event)

    def _open(self, records: Sequence[IncomingRecord]) -> list[OpenedRecord]:
        with self._store.transaction() as conn:
            return open_records(conn, records)

    async def dead_letter(self, record: IncomingRecord, reason: str) -> None:
        """Set aside a record that fails every attempt, as a delivery that ran out of retries."""
        agency = self._agencies.get(_agency_of(record.topic))
        if agency is None:
            return
        (opened,) = await asyncio.to_thread(self._open, [record])
        event: CloudEvent | None = None
        if opened.value is not None:
            try:
                event = from_kafka(record.key, opened.value, record.headers)
            except ContractError:
                event = None
        await self._dead_letter([_Failure(agency, event, record, reason, 0)])

    async def _deliver_batch(self, items: Sequence[tuple[AgencyConfig, CloudEvent]]) -> None:
        by_mode: dict[str, list[tuple[AgencyConfig, CloudEvent]]] = defaultdict(list)
        for agency, event in items:
            by_mode[agency.delivery.mode].append((agency, event))
        for mode, mode_items in by_mode.items():
            transport = self._transports[mode]
            assert isinstance(transport, BatchTransport)
            await transport.deliver_batch(mode_items)
            self._delivered(mode, [event for _, event in mode_items])

    async def _deliver_in_order(
        self, agency: AgencyConfig, items: Sequence[tuple[IncomingRecord, CloudEvent]]
    ) -> list[_Failure]:
        failures = []
        transport = self._transports.get(agency.delivery.mode)
        consumer = f"delivery:{agency.id}"
        for record, event in items:
            if transport is None:
                reason = f"no transport for delivery mode {agency.delivery.mode!r}"
                failures.append(_Failure(agency, event, record, reason, 0))
                continue
            done = await asyncio.to_thread(self._is_done, consumer, event_key(event))
            if done:
                continue
            failure = await self._attempt(agency, transport, record, event)
            if failure is None:
                await asyncio.to_thread(self._mark_done, consumer, agency.id, event)
                self._delivered(agency.delivery.mode, [event])
            elif failure.reason != "cancelled":
                failures.append(failure)
        return failures

    async def _attempt(
        self, agency: AgencyConfig, transport: Transport, record: IncomingRecord, event: CloudEvent
    ) -> _Failure | None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await transport.deliver(agency, event)
                self._metrics.delivery_attempts.labels("delivered").inc()
                return None
            except DeliveryError as exc:
                self._metrics.delivery_attempts.labels("failed").inc()
                self._metrics.delivery_failures.labels(agency.id, agency.delivery.mode).inc()
                if not exc.retriable or attempt >= self._settings.max_attempts:
                    return _Failure(agency, event, record, str(exc), attempt)
                delay = backoff_delay(self._settings, attempt, self._rng)
                await asyncio.to_thread(
                    self._note,
                    AuditAction.RETRIED,
                    event,
                    {"recipient": agency.id, "attempt": attempt},
                )
                _log.info(
                    "delivery retry",
                    event_id=event.id,
                    agency_id=agency.id,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    reason=str(exc),
                )
            await self._sleep(delay)
            if event_key(event) in await asyncio.to_thread(self._cancelled, [event]):
                _log.info("delivery cancelled: consent withdrawn", event_id=event.id)
                await asyncio.to_thread(self._note_cancelled, agency.id, event)
                return _Failure(agency, event, record, "cancelled", attempt)

    def _cancelled(self, events: Sequence[CloudEvent]) -> set[EventKey]:
        """The events whose consent no longer covers anything."""
        relevant = [e for e in events if _under_consent(e, self._hub_id)]
        if not relevant:
            return set()
        now = self._clock()
        found: set[EventKey] = set()
        status: dict[str, bool] = {}
        with self._store.transaction() as conn:
            for event in relevant:
                consent_id = event.consentid or ""
                if consent_id not in status:
                    row = consents.get_consent(conn, consent_id)
                    status[consent_id] = row is not None and (
                        row.status == "active"
                        and (row.valid_until is None or now < row.valid_until)
                    )
                if not status[consent_id]:
                    found.add(event_key(event))
        return found

    def _is_done(self, consumer: str, event: EventKey) -> bool:
        with self._store.transaction() as conn:
            return processed.is_processed(conn, consumer, event)

    def _mark_done(self, consumer: str, agency_id: str, event: CloudEvent) -> None:
        now = self._clock()
        with self._store.transaction() as conn:
            if processed.claim(conn, consumer, event_key(event), now):
                entry = delivered_entry(
                    event=event,
                    recipient=agency_id,
                    registry=self._registry,
                    hub_id=self._hub_id,
                    at=now,
                )
                self._audit.record_many(conn, [entry])

    def _note(self, action: AuditAction, event: CloudEvent, details: Mapping[str, object]) -> None:
        with self._store.transaction() as conn:
            self._audit.record(
                conn,
                action=action,
                actor=self._hub_id,
                at=self._clock(),
                event_id=event.id,
                referral_id=referral_of(event),
                consent_id=event.consentid,
                details=details,
            )

    def _note_cancelled(self, agency_id: str, event: CloudEvent) -> None:
        details = {"recipient": agency_id, "reason": "consent-withdrawn"}
        self._note(AuditAction.BLOCKED, event, details)

    def _delivered(self, mode: str, events: Sequence[CloudEvent]) -> None:
        now = self._clock()
        self._metrics.delivered.labels(mode).inc(len(events))
        for event in events:
            self._metrics.delivery_latency.observe(max(0.0, (now - event.time).total_seconds()))

    async def _dead_letter(self, failures: Sequence[_Failure]) -> None:
        now = self._clock()
        messages: list[OutgoingMessage] = []
        notices: list[_Notice] = []
        for failure in failures:
            record = failure.record
            messages.append(
                OutgoingMessage(
                    dlq_topic(failure.agency.id),
                    record.key or b"",
                    record.value or b"",
                    (*record.headers, (DLQ_REASON_HEADER, failure.reason[:1000].encode())),
                )
            )
            notice = self._failure_notice(failure, now)
            if notice is not None:
                notices.append(notice)
        sent = await asyncio.to_thread(self._record_dead_letters, failures, notices, now)
        messages.extend(message for _, message in sent)
        try:
            await self._publisher.publish(messages)
        except BrokerError as exc:
            # Recorded and journalled: the relay publishes the notices later.
            _log.warning("publish after commit failed; the relay takes over", error=str(exc))
            pairs = [(n.event.source, n.event.id, n.source_recipient) for n, _ in sent]
            await asyncio.to_thread(self._hand_to_relay, pairs)
        for failure in failures:
            self._metrics.dead_lettered.labels("inbox").inc()
            _log.warning(
                "delivery dead-lettered",
                event_id=failure.event.id if failure.event else None,
                agency_id=failure.agency.id,
                attempts=failure.attempts,
                reason=failure.reason,
            )

    def _failure_notice(self, failure: _Failure, now: datetime) -> _Notice | None:
        event = failure.event
        if event is None or event.source not in self._agencies or event.source == self._hub_id:
            return None
        notice = DeliveryFailedV1(
            referral_id=event.subject,
            failed_event_id=event.id,
            failed_event_type=event.type,
            recipient=failure.agency.id,
            reason=FailureReason.RETRIES_EXHAUSTED,
            detail=failure.reason[:500],
            attempts=failure.attempts,
            failed_at=now,
        )
        envelope = new_event(
            notice,
            source=self._hub_id,
            event_id=notice_id(event.id, "dead", failure.agency.id),
            time=now,
            consent_id=event.consentid,
            correlation_id=event.correlationid or event.id,
        )
        return _Notice(event.source, envelope)

    def _hand_to_relay(self, pairs: Sequence[tuple[str, str, str]]) -> None:
        with self._store.transaction() as conn:
            hand_to_relay(conn, pairs)

    def _record_dead_letters(
        self, failures: Sequence[_Failure], notices: Sequence[_Notice], now: datetime
    ) -> list[tuple[_Notice, OutgoingMessage]]:
        """Record the failures and journal the notices; the notices to publish now, sealed."""
        with self._store.transaction() as conn:
            sent = []
            for notice in notices:
                message = journal_copy(conn, notice.source_recipient, notice.event, now)
                if message is not None:
                    sent.append((notice, message))
            for failure in failures:
                dead_letter_store.add(
                    conn,
                    topic=dlq_topic(failure.agency.id),
                    agency_id=failure.agency.id,
                    event_id=failure.event.id if failure.event else _position(failure.record),
                    reason=failure.reason[:1000],
                    envelope=seal_unless_erased(conn, failure.event, now)
                    if failure.event
                    else None,
                    attempts=failure.attempts,
                    at=now,
                )
                self._audit.record(
                    conn,
                    action=AuditAction.DEAD_LETTERED,
                    actor=self._hub_id,
                    at=now,
                    event_id=failure.event.id if failure.event else _position(failure.record),
                    referral_id=referral_of(failure.event) if failure.event else None,
                    consent_id=failure.event.consentid if failure.event else None,
                    details={"recipient": failure.agency.id, "attempts": failure.attempts},
                )
        return sent


def _agency_of(topic: str) -> str:
    if topic.startswith(_INBOX_PREFIX) and topic.endswith(_INBOX_SUFFIX):
        return topic[len(_INBOX_PREFIX) : -len(_INBOX_SUFFIX)]
    return ""


def _under_consent(event: CloudEvent, hub_id: str) -> bool:
    """Referral data travelling under a consent.

    Notices about consent itself always go, and so does a disclosure the law
    compels (it carries ``overrideid``): withdrawal cannot stop those.
    """
    return (
        event.consentid is not None
        and event.source != hub_id
        and not event.type.startswith("consent.")
        and "overrideid" not in event.extensions
    )


def _position(record: IncomingRecord) -> str:
    return f"{record.topic}:{record.partition}:{record.offset}"
