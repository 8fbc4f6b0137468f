"""The router: consumes ``hub.ingress`` and routes each event to its recipients.

Per batch of records:

1. plan (one read transaction): open each record's sealed data, parse and
   validate it, skip events
   already processed, decide with :func:`hub.consumers.routing.decide` against the
   referral projection as the batch itself changes it, and collect the copies
   for each recipient's inbox topic and the dead letters (an erased subject's
   record among them, "subject erased");
2. commit (one write transaction): order it against other routers' commits
   under the same consents, check that no consent the plan read has changed
   since (if one has, plan again), claim each event id in the processed-events
   table, find whom each withdrawal must reach, apply its effects (projection,
   timeline, disclosures, dead letters, audit entries) and journal each copy
   (:mod:`hub.consumers.journal`), sealed again under the subject's key;
3. publish the copies of the events this batch claimed, and only those, and
   wait for the broker's acknowledgement;
4. return, and only then is the Kafka offset committed by the caller.

Nothing reaches an agency before the commit that records it: a batch whose
commit fails publishes nothing. A publish that fails hands the journalled
copies to the outbox relay; a crash between 2 and 3 is covered by the
recovery at start, which publishes again every copy not yet delivered, with
the same event ids, which recipients' inboxes de-duplicate. An event is its
source and id, so agencies that happen to share an id never de-duplicate each
other's events. A record that can
never be processed is dead-lettered with its reason (:meth:`dead_letter`) and
never blocks its partition.

Several routers may run, each on its own ingress partitions, and events under
one consent reach different partitions (a withdrawal is keyed by the consent,
a referral by itself). So a withdrawal's recipients are read in the commit,
under an exclusive per-consent lock that every commit recording disclosures
under that consent holds shared (:func:`hub.store.consents.serialise_disclosures`):
a disclosure committed first is seen by the withdrawal, and one whose plan
still saw the consent active but commits after the withdrawal finds the
consent changed and is decided again (now blocked).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit import AuditAction, AuditRecorder, EntryDraft
from hub.broker.topics import ROUTER_DLQ
from hub.config import DisclosureSettings
from hub.consent import ConsentRecord, allows_statistics, redact
from hub.consumers.auditing import decision_entries
from hub.consumers.journal import hand_to_relay, journal_copy
from hub.consumers.records import IncomingRecord, OutgoingMessage, Publisher
from hub.consumers.routing import (
    AgencyView,
    Decision,
    Delivery,
    LegalOrder,
    ReferralState,
    decide,
)
from hub.consumers.sealing import open_records
from hub.contracts import CloudEvent, ContractRegistry, ReferralStatus, from_kafka
from hub.contracts.envelope import DLQ_REASON_HEADER, envelope_from_mapping, is_foreign_header
from hub.contracts.events import (
    ConsentWithdrawnV1,
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    EventPayload,
    LegalOrderIssuedV1,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
)
from hub.contracts.vocabulary import ServiceCode
from hub.errors import BrokerError, ContractError, StoreError
from hub.observability import HubMetrics, get_logger
from hub.services.envelopes import event_key
from hub.services.vault import unseal
from hub.store import (
    EventKey,
    Store,
    consents,
    disclosures,
    outbox,
    processed,
    referrals,
    statistics,
)
from hub.store import dead_letters as dead_letter_store
from hub.store.consents import ConsentVersion
from hub.store.referrals import ReferralRow

__all__ = ["ROUTER_CONSUMER", "IngressRouter"]

ROUTER_CONSUMER = "router"

_log = get_logger(__name__)

#: How often a batch is planned again because consents changed under it.
_REPLANS = 5


class _ConsentsChanged(StoreError):
    """A consent the plan read changed before its commit: the plan is stale."""


@dataclass(frozen=True)
class _Routed:
    event: CloudEvent
    payload: EventPayload
    decision: Decision
    previous: ReferralState | None
    #: Her consent lets the referral be counted in aggregates (the statistics purpose).
    counted: bool = False


@dataclass(frozen=True)
class _DeadLetter:
    record: IncomingRecord
    event_id: str
    reason: str


@dataclass(frozen=True)
class _Copy:
    """A copy the commit journalled, and its sealed record to publish."""

    delivery: Delivery
    message: OutgoingMessage


@dataclass
class _Plan:
    #: The instant the batch was decided: its audit entries carry it, so a
    #: consent change committed meanwhile never looks like a violation.
    now: datetime
    routed: list[_Routed] = field(default_factory=list)
    dead: list[_DeadLetter] = field(default_factory=list)
    #: The consents the decisions read, as they were read.
    consents: dict[str, ConsentVersion] = field(default_factory=dict)


class IngressRouter:
    def __init__(
        self,
        *,
        store: Store,
        registry: ContractRegistry,
        agencies: Mapping[str, AgencyView],
        publisher: Publisher,
        metrics: HubMetrics,
        hub_id: str,
        audit: AuditRecorder | None = None,
        disclosure: DisclosureSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``disclosure`` says who may issue legal orders and receive compelled
        disclosures (the defaults when absent).
        """
        self._disclosure = disclosure or DisclosureSettings()
        self._audit = audit or AuditRecorder(signer=None, actor=hub_id)
        self._store = store
        self._registry = registry
        self._agencies = agencies
        self._publisher = publisher
        self._metrics = metrics
        self._hub_id = hub_id
        self._clock = clock

    async def handle(self, records: Sequence[IncomingRecord]) -> None:
        """Route one batch; returns only once its effects are durable."""
        if not records:
            return
        for attempt in range(1, _REPLANS + 1):
            plan = await asyncio.to_thread(self._plan, records)
            try:
                copies = await asyncio.to_thread(self._commit, plan)
                break
            except _ConsentsChanged:
                if attempt == _REPLANS:
                    raise
                _log.info("a consent changed while routing; deciding again", attempt=attempt)
        await self._publish(copies, plan.dead)
        self._observe(plan)

    async def dead_letter(self, record: IncomingRecord, reason: str) -> None:
        """Set aside a record that fails every attempt: stored, audited, then on the DLQ."""
        plan = _Plan(self._clock())
        plan.dead.append(_DeadLetter(record, _header(record, "ce_id"), reason))
        await asyncio.to_thread(self._commit, plan)
        await self._publish([], plan.dead)
        self._observe(plan)

    async def _publish(self, copies: Sequence[_Copy], dead: Sequence[_DeadLetter]) -> None:
        """Publish what a commit recorded; copies the broker refuses go to the relay."""
        messages = [copy.message for copy in copies]
        messages.extend(_dlq_message(item) for item in dead)
        try:
            await self._publisher.publish(messages)
        except BrokerError as exc:
            # The effects are committed and the copies journalled: the relay
            # publishes them once the broker is back.
            _log.warning("publish after commit failed; the relay takes over", error=str(exc))
            pairs = [
                (copy.delivery.event.source, copy.delivery.event.id, copy.delivery.recipient)
                for copy in copies
            ]
            await asyncio.to_thread(self._hand_to_relay, pairs)

    def _hand_to_relay(self, pairs: Sequence[tuple[str, str, str]]) -> None:
        with self._store.transaction() as conn:
            hand_to_relay(conn, pairs)

    def _plan(self, records: Sequence[IncomingRecord]) -> _Plan:
        now = self._clock()
        plan = _Plan(now)
        overlay: dict[str, ReferralState | None] = {}
        requests: dict[str, tuple[CloudEvent, EventPayload]] = {}
        orders: dict[str, LegalOrder] = {}
        seen: set[EventKey] = set()
        parsed: list[tuple[CloudEvent, EventPayload]] = []
        consents_seen: dict[str, ConsentRecord | None] = {}
        with self._store.transaction() as conn:
            for opened in open_records(conn, records):
                record = opened.record
                if opened.value is None:
                    reason = opened.refusal or "unreadable"
                    self._dead_letter(plan, record, _header(record, "ce_id"), reason)
                    continue
                try:
                    event = from_kafka(record.key, opened.value, record.headers)
                    payload = self._registry.parse(event, data_json=opened.value)
                    parsed.append((event, payload))
                except ContractError as exc:
                    self._dead_letter(plan, record, _header(record, "ce_id"), str(exc))
            done = processed.processed_among(
                conn, ROUTER_CONSUMER, [event_key(e) for e, _ in parsed]
            )
            stored = referrals.get_referrals(conn, [event.subject for event, _ in parsed])
            overlay.update((referral_id, _state(row)) for referral_id, row in stored.items())
            for event, payload in parsed:
                if event_key(event) in seen or event_key(event) in done:
                    continue
                seen.add(event_key(event))
                previous = overlay.get(event.subject)
                consent = self._consent(conn, event, payload, previous, consents_seen, plan)
                if isinstance(payload, ReferralRequestedV1 | ReferralRequestedV2):
                    requests[event.subject] = (event, payload)
                original = None
                if isinstance(payload, DisclosureCompelledV1 | DisclosureCompelledV2):
                    original = requests.get(event.subject) or self._request(conn, event.subject)
                order = None
                order_id = getattr(payload, "order_id", None)
                if isinstance(order_id, str):
                    order = orders.get(order_id) or self._order(conn, event.subject, order_id)
                decision = decide(
                    event,
                    payload,
                    previous,
                    consent,
                    self._agencies,
                    hub_id=self._hub_id,
                    cast=self._registry.cast,
                    now=now,
                    original=original,
                    order=order,
                    disclosure=self._disclosure,
                )
                if isinstance(payload, LegalOrderIssuedV1) and decision.refusal is None:
                    orders[event.id] = (event, payload)
                if isinstance(payload, ConsentWithdrawnV1):
                    # Its notices are found at commit, under the consent's lock.
                    decision = Decision()
                overlay[event.subject] = _after(previous, decision)
                plan.routed.append(
                    _Routed(event, payload, decision, previous, allows_statistics(consent))
                )
        return plan

    def _dead_letter(self, plan: _Plan, record: IncomingRecord, event_id: str, reason: str) -> None:
        plan.dead.append(_DeadLetter(record, event_id, reason))

    def _request(
        self, conn: Connection, referral_id: str
    ) -> tuple[CloudEvent, EventPayload] | None:
        """The referral's own request, as accepted, for a compelled disclosure."""
        for entry in referrals.timeline(conn, referral_id):
            if entry.event_type != "referral.requested":
                continue
            row = outbox.get(conn, entry.actor, entry.event_id)
            envelope = unseal(conn, row.envelope) if row is not None else None
            if envelope is None:
                return None
            try:
                event = envelope_from_mapping(envelope)
                return event, self._registry.parse(event)
            except ContractError:
                return None
        return None

    def _order(self, conn: Connection, referral_id: str, order_id: str) -> LegalOrder | None:
        """The legal order ``order_id`` of the referral, if it was accepted and carried."""
        for entry in referrals.timeline(conn, referral_id):
            if entry.event_id != order_id or entry.event_type != "legal.order-issued":
                continue
            if entry.detail.get("refused") is not None:
                return None
            row = outbox.get(conn, entry.actor, entry.event_id)
            envelope = unseal(conn, row.envelope) if row is not None else None
            if envelope is None:
                return None
            try:
                event = envelope_from_mapping(envelope)
                payload = self._registry.parse(event)
            except ContractError:
                return None
            return (event, payload) if isinstance(payload, LegalOrderIssuedV1) else None
        return None

    def _consent(
        self,
        conn: Connection,
        event: CloudEvent,
        payload: EventPayload,
        referral: ReferralState | None,
        seen: dict[str, ConsentRecord | None],
        plan: _Plan,
    ) -> ConsentRecord | None:
        """The consent an event travels under, read once per batch."""
        consent_id = getattr(payload, "consent_id", None) or (
            referral.consent_id if referral is not None else event.consentid
        )
        if consent_id is None:
            return None
        if consent_id not in seen:
            seen[consent_id] = self._read_consent(conn, consent_id, plan)
        return seen[consent_id]

    def _read_consent(self, conn: Connection, consent_id: str, plan: _Plan) -> ConsentRecord | None:
        row = consents.get_consent(conn, consent_id)
        if row is None:
            return None
        plan.consents[consent_id] = (row.status, row.last_event_id, row.updated_at)
        return ConsentRecord.from_scope_json(
            consent_id=row.consent_id,
            subject_id=row.subject_id,
            recorded_by=row.recorded_by,
            status=row.status,
            scope=row.scope,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
        )

    def _with_notices(self, conn: Connection, routed: _Routed) -> _Routed:
        """A withdrawal with the notices it sends, read under the consent's lock."""
        if not isinstance(routed.payload, ConsentWithdrawnV1):
            return routed
        notices = self._withdrawal_notices(conn, routed.event, routed.payload)
        return dataclasses.replace(routed, decision=notices)

    def _withdrawal_notices(
        self, conn: Connection, event: CloudEvent, payload: ConsentWithdrawnV1
    ) -> Decision:
        """Every agency that received data under the consent hears it was withdrawn.

        The consent no longer covers any category, so the notice carries none:
        her reason for withdrawing stays with the agency that recorded it.
        """
        recipients = disclosures.recipients_under(conn, payload.consent_id)
        data = redact(payload, frozenset()).data
        notices = tuple(
            Delivery(
                recipient=recipient,
                event=event.with_data(data, consentid=payload.consent_id),
                consent_id=payload.consent_id,
            )
            for recipient in sorted(recipients)
            if recipient != event.source and recipient in self._agencies
        )
        return Decision(notices=notices)

    def _commit(self, plan: _Plan) -> list[_Copy]:
        """Record the plan; the copies to publish now, those of the events it claimed."""
        now = plan.now
        copies: list[_Copy] = []
        with self._store.transaction() as conn:
            withdrawn = {
                routed.payload.consent_id
                for routed in plan.routed
                if isinstance(routed.payload, ConsentWithdrawnV1)
            }
            disclosing = {
                delivery.consent_id
                for routed in plan.routed
                for delivery in routed.decision.deliveries
                if delivery.consent_id is not None
            }
            consents.serialise_disclosures(
                conn, disclosing=disclosing | plan.consents.keys(), withdrawing=withdrawn
            )
            if consents.versions(conn, plan.consents.keys()) != plan.consents:
                raise _ConsentsChanged("a consent changed while the batch was being routed")
            claimed = processed.claim_many(
                conn, ROUTER_CONSUMER, [event_key(routed.event) for routed in plan.routed], now
            )
            todo = [routed for routed in plan.routed if event_key(routed.event) in claimed]
            _apply(conn, todo, now)
            # After _apply: a withdrawal also reaches whoever this batch disclosed to.
            todo = [self._with_notices(conn, routed) for routed in todo]
            for routed in todo:
                copies.extend(_journal(conn, routed.decision, now))
            entries: list[EntryDraft] = []
            for routed in todo:
                state = routed.decision.new_referral or routed.previous
                entries.extend(
                    decision_entries(
                        event=routed.event,
                        decision=routed.decision,
                        purpose=state.purpose if state is not None else None,
                        actor=self._hub_id,
                        at=now,
                    )
                )
            for dead in plan.dead:
                dead_letter_store.add(
                    conn,
                    topic=dead.record.topic,
                    event_id=dead.event_id,
                    reason=dead.reason[:1000],
                    at=now,
                    envelope=None,
                )
                entries.append(
                    EntryDraft(
                        action=AuditAction.DEAD_LETTERED,
                        actor=self._hub_id,
                        at=now,
                        event_id=dead.event_id,
                        details={"topic": dead.record.topic},
                    )
                )
            self._audit.record_many(conn, entries)
        return copies

    def _observe(self, plan: _Plan) -> None:
        metrics = self._metrics
        for routed in plan.routed:
            decision = routed.decision
            if decision.refusal is not None:
                metrics.refused.labels(decision.refusal[0].value).inc()
                _log.info(
                    "event refused",
                    event_id=routed.event.id,
                    event_type=routed.event.type,
                    reason=decision.refusal[0].value,
                )
            for delivery in decision.deliveries:
                metrics.routed.labels(routed.event.type).inc()
                for category in delivery.withheld:
                    metrics.fields_withheld.labels(category.value).inc()
            for blocked in decision.blocked:
                metrics.blocked.labels(blocked.reason.value).inc()
        for dead in plan.dead:
            metrics.dead_lettered.labels("ingress").inc()
            _log.warning("ingress record dead-lettered", event_id=dead.event_id, reason=dead.reason)


def _apply(conn: Connection, batch: Sequence[_Routed], now: datetime) -> None:
    """The batch's effects on the projection, timelines and disclosures, a statement per kind.

    Referrals are inserted before any status change, which is safe because a
    referral's request always comes before its updates in the batch.
    """
    created: list[ReferralRow] = []
    updates: list[tuple[str, str]] = []
    timeline: list[referrals.TimelineEntry] = []
    copies: list[disclosures.DisclosureRow] = []
    for routed in batch:
        event, decision = routed.event, routed.decision
        state = decision.new_referral
        if state is not None:
            created.append(_row(state, routed.payload, now))
        elif decision.new_status is not None:
            updates.append((event.subject, decision.new_status.value))
        if routed.previous is not None or state is not None:
            timeline.append(
                referrals.TimelineEntry(
                    referral_id=event.subject,
                    event_id=event.id,
                    event_type=event.type,
                    status=decision.new_status.value if decision.new_status else None,
                    actor=event.source,
                    at=now,
                    detail=_timeline_detail(decision),
                )
            )
        copies.extend(
            disclosures.DisclosureRow(
                source=event.source,
                event_id=event.id,
                referral_id=event.subject,
                recipient=delivery.recipient,
                consent_id=delivery.consent_id,
                disclosed=[category.value for category in delivery.disclosed],
                withheld=[category.value for category in delivery.withheld],
                at=now,
            )
            for delivery in decision.deliveries
        )
    referrals.insert_referrals(conn, created)
    for referral_id, status in updates:
        referrals.update_status(conn, referral_id, status, now)
    referrals.append_timelines(conn, timeline)
    disclosures.record_many(conn, copies)
    _count(conn, batch, now)


def _count(conn: Connection, batch: Sequence[_Routed], now: datetime) -> None:
    """Keep what statistics count, for referrals whose consent allows it and for no other."""
    counted: list[statistics.CountedReferral] = []
    outcomes: list[statistics.CountedOutcome] = []
    for routed in batch:
        payload, decision = routed.payload, routed.decision
        if isinstance(payload, ConsentWithdrawnV1):
            statistics.forget_consent(conn, payload.consent_id)
        if decision.refusal is not None or not routed.counted:
            continue
        if decision.new_referral is not None:
            incident = payload.incident if isinstance(payload, ReferralRequestedV3) else None
            counted.append(
                statistics.CountedReferral(
                    referral_id=decision.new_referral.referral_id,
                    counted_at=now,
                    violence=incident.primary.value if incident is not None else None,
                    online=incident.online if incident is not None else None,
                    age_band=(
                        incident.age_band.value
                        if incident is not None and incident.age_band is not None
                        else None
                    ),
                    first_contact=(
                        incident.first_contact.value
                        if incident is not None and incident.first_contact is not None
                        else None
                    ),
                )
            )
        elif isinstance(payload, ReferralOutcomeReportedV1):
            outcomes.append(
                statistics.CountedOutcome(
                    source=routed.event.source,
                    event_id=routed.event.id,
                    referral_id=payload.referral_id,
                    outcome=payload.outcome.value,
                    at=now,
                )
            )
    statistics.record_referrals(conn, counted)
    statistics.record_outcomes(conn, outcomes)


def _journal(conn: Connection, decision: Decision, now: datetime) -> list[_Copy]:
    """Keep each copy to publish, sealed; an erased subject's copies are neither kept nor sent."""
    copies = []
    for delivery in (*decision.deliveries, *decision.notices):
        message = journal_copy(conn, delivery.recipient, delivery.event, now)
        if message is not None:
            copies.append(_Copy(delivery, message))
    return copies


def _dlq_message(dead: _DeadLetter) -> OutgoingMessage:
    """The record as it arrived (still sealed), with the reason."""
    record = dead.record
    return OutgoingMessage(
        ROUTER_DLQ,
        record.key or b"",
        record.value or b"",
        # A foreign extension may hold what no category covers: it stays behind.
        (
            *((k, v) for k, v in record.headers if not is_foreign_header(k)),
            (DLQ_REASON_HEADER, dead.reason[:1000].encode()),
        ),
    )


def _timeline_detail(decision: Decision) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "delivered_to": [delivery.recipient for delivery in decision.deliveries],
    }
    if decision.blocked:
        detail["blocked"] = [
            {"recipient": blocked.recipient, "reason": blocked.reason.value}
            for blocked in decision.blocked
        ]
    if decision.refusal is not None:
        detail["refused"] = decision.refusal[0].value
    return detail


def _after(previous: ReferralState | None, decision: Decision) -> ReferralState | None:
    if decision.new_referral is not None:
        return decision.new_referral
    if previous is not None and decision.new_status is not None:
        return ReferralState(
            referral_id=previous.referral_id,
            from_agency=previous.from_agency,
            to_agency=previous.to_agency,
            subject_id=previous.subject_id,
            consent_id=previous.consent_id,
            service=previous.service,
            status=decision.new_status,
        )
    return previous


def _state(row: ReferralRow) -> ReferralState:
    return ReferralState(
        referral_id=row.referral_id,
        from_agency=row.from_agency,
        to_agency=row.to_agency,
        subject_id=row.subject_id,
        consent_id=row.consent_id,
        service=ServiceCode(row.service),
        status=ReferralStatus(row.status),
    )


def _row(state: ReferralState, payload: EventPayload, now: datetime) -> ReferralRow:
    return ReferralRow(
        referral_id=state.referral_id,
        from_agency=state.from_agency,
        to_agency=state.to_agency,
        subject_id=state.subject_id,
        consent_id=state.consent_id,
        service=state.service.value,
        priority=str(getattr(payload, "priority", "routine")),
        status=state.status.value,
        due_by=getattr(payload, "due_by", None),
        pathway_step=getattr(payload, "pathway_step", None),
        created_at=now,
        updated_at=now,
        version=1,
    )


def _header(record: IncomingRecord, name: str) -> str:
    for key, value in record.headers:
        if key == name:
            return value.decode(errors="replace")[:128]
    return f"{record.topic}:{record.partition}:{record.offset}"
