"""The ingress router over a real SQLite store and a recording publisher (no broker)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.audit import AuditRecorder, erase_subject
from hub.broker.topics import INGRESS, ROUTER_DLQ, inbox_topic
from hub.consumers.isolation import isolating
from hub.consumers.records import IncomingRecord, OutgoingMessage
from hub.consumers.router import ROUTER_CONSUMER, IngressRouter
from hub.consumers.routing import AgencyView
from hub.consumers.sealing import seal_messages
from hub.contracts import (
    AgencyKind,
    CloudEvent,
    DataCategory,
    Purpose,
    default_registry,
    new_event,
)
from hub.contracts.events import ConsentGrantedV1, ConsentWithdrawnV1
from hub.contracts.status import ReferralStatus
from hub.errors import BrokerError, StoreError
from hub.observability import HubMetrics
from hub.runtime.relay import OutboxRelay
from hub.services.intake import accept_event
from hub.store import Store, audit, dead_letters, disclosures, processed, referrals
from tests.consumers.sealed import in_clear
from tests.support import (
    Agency,
    agency,
    consent_event,
    consent_payload,
    referral_event,
    scope,
    status_event,
    withdrawal_event,
)

REGISTRY = default_registry()


@dataclass
class RecordingPublisher:
    """Keeps what is published; fails the next ``fail`` calls with a broker error."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    fail: int = 0

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.fail:
            self.fail -= 1
            raise BrokerError("broker unavailable")
        self.messages.extend(messages)

    def to(self, topic: str) -> list[OutgoingMessage]:
        return [m for m in self.messages if m.topic == topic]


@dataclass
class Setup:
    store: Store
    router: IngressRouter
    publisher: RecordingPublisher
    hospital: Agency
    court: Agency
    shelter: Agency
    offsets: Iterator[int] = field(default_factory=itertools.count)

    def record(self, event: CloudEvent) -> IncomingRecord:
        """The event as the relay publishes it: its data sealed under the subject's key."""
        with self.store.transaction() as conn:
            (message,) = seal_messages(conn, [(INGRESS, event)], datetime.now(UTC))
        assert message is not None
        return IncomingRecord(
            INGRESS, 0, next(self.offsets), message.key, message.value, message.headers
        )

    def raw(self, value: bytes, *headers: tuple[str, bytes]) -> IncomingRecord:
        return IncomingRecord(INGRESS, 0, next(self.offsets), b"k", value, headers)

    def accept(self, event: CloudEvent) -> None:
        """What the API does first: validate and record (consents update the registry)."""
        accept_event(self.store, REGISTRY, event, sender=event.source, now=datetime.now(UTC))

    def consent(self) -> ConsentGrantedV1:
        payload = consent_payload(
            self.hospital, [scope(self.court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))]
        )
        self.accept(consent_event(payload))
        return payload

    def delivered_ids(self, reader: Agency) -> list[str]:
        return [_header(m, "ce_id") for m in self.publisher.to(inbox_topic(reader.id))]


def _header(message: OutgoingMessage, name: str) -> str:
    return next(value.decode() for key, value in message.headers if key == name)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    hospital = agency(AgencyKind.HOSPITAL)
    court = agency(AgencyKind.COURT)
    shelter = agency(AgencyKind.SHELTER)
    views = {a.id: AgencyView(a.id, a.kind) for a in (hospital, court, shelter)}
    publisher = RecordingPublisher()
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as store:
        router = IngressRouter(
            store=store,
            registry=REGISTRY,
            agencies=views,
            publisher=publisher,
            metrics=HubMetrics.create(),
            hub_id="referral-hub",
        )
        yield Setup(store, router, publisher, hospital, court, shelter)


async def test_a_referral_is_published_to_the_recipients_inbox_and_recorded(
    setup: Setup,
) -> None:
    """The court's inbox topic gets the copy; projection, timeline and disclosure are stored."""
    consent = setup.consent()
    event = referral_event(setup.hospital, setup.court, consent)

    await setup.router.handle([setup.record(event)])

    assert setup.delivered_ids(setup.court) == [event.id]
    (message,) = setup.publisher.to(inbox_topic(setup.court.id))
    assert message.key == event.subject.encode()
    with setup.store.transaction() as conn:
        row = referrals.get_referral(conn, event.subject)
        assert row is not None
        assert row.status == "requested"
        assert [e.event_id for e in referrals.timeline(conn, event.subject)] == [event.id]
        (disclosure,) = disclosures.for_referral(conn, event.subject)
        assert disclosure.recipient == setup.court.id
        assert processed.is_processed(conn, ROUTER_CONSUMER, (event.source, event.id))


async def test_an_event_seen_again_is_routed_once(setup: Setup) -> None:
    """A republished event, in the same batch or a later one, produces no second copy."""
    consent = setup.consent()
    event = referral_event(setup.hospital, setup.court, consent)

    await setup.router.handle([setup.record(event), setup.record(event)])
    await setup.router.handle([setup.record(event)])

    assert setup.delivered_ids(setup.court) == [event.id]
    with setup.store.transaction() as conn:
        assert len(referrals.timeline(conn, event.subject)) == 1


async def test_a_referral_and_its_status_change_in_one_batch_are_both_routed(
    setup: Setup,
) -> None:
    """The second event of a batch sees the referral the first one created."""
    consent = setup.consent()
    referral = referral_event(setup.hospital, setup.court, consent)
    accepted = status_event(setup.court, referral.subject, ReferralStatus.ACCEPTED)

    await setup.router.handle([setup.record(referral), setup.record(accepted)])

    assert setup.delivered_ids(setup.court) == [referral.id]
    assert setup.delivered_ids(setup.hospital) == [accepted.id]
    with setup.store.transaction() as conn:
        row = referrals.get_referral(conn, referral.subject)
        assert row is not None
        assert row.status == "accepted"


async def test_poison_records_are_dead_lettered_and_the_rest_routed(setup: Setup) -> None:
    """Unreadable records go to the router's DLQ with a reason; good ones around them pass."""
    consent = setup.consent()
    good = referral_event(setup.hospital, setup.court, consent)

    await setup.router.handle(
        [
            setup.raw(b"not json", ("ce_id", b"poison-1")),
            setup.record(good),
            setup.raw(b"{}"),
        ]
    )

    assert setup.delivered_ids(setup.court) == [good.id]
    parked = setup.publisher.to(ROUTER_DLQ)
    assert len(parked) == 2
    assert all(_header(m, "hub_dlq_reason") for m in parked)
    with setup.store.transaction() as conn:
        letters = dead_letters.list_dead_letters(conn)
    assert [d.event_id for d in letters] == ["poison-1", f"{INGRESS}:0:2"]
    assert all(d.topic == INGRESS for d in letters)


async def test_a_record_with_a_foreign_extension_is_dead_lettered_not_delivered(
    setup: Setup,
) -> None:
    """A record carrying a ce_ header the hub does not define is parked with the reason."""
    consent = setup.consent()
    event = referral_event(setup.hospital, setup.court, consent)
    record = setup.record(event)
    tainted = IncomingRecord(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        (*record.headers, ("ce_survivorname", b"Salma Bennani")),
    )

    await setup.router.handle([tainted])

    assert setup.delivered_ids(setup.court) == []
    (parked,) = setup.publisher.to(ROUTER_DLQ)
    assert "survivorname" in _header(parked, "hub_dlq_reason")
    assert all(b"Salma" not in value for _, value in parked.headers)
    with setup.store.transaction() as conn:
        (letter,) = dead_letters.list_dead_letters(conn)
        assert referrals.get_referral(conn, event.subject) is None
    assert letter.event_id == event.id


async def test_a_failed_publish_leaves_the_copies_to_the_relay(setup: Setup) -> None:
    """If the broker refuses the copies after the commit, the outbox relay publishes them later."""
    consent = setup.consent()
    event = referral_event(setup.hospital, setup.court, consent)
    setup.publisher.fail = 1

    await setup.router.handle([setup.record(event)])

    assert setup.delivered_ids(setup.court) == []
    with setup.store.transaction() as conn:
        assert referrals.get_referral(conn, event.subject) is not None
        assert processed.is_processed(conn, ROUTER_CONSUMER, (event.source, event.id))
    relay = OutboxRelay(store=setup.store, publisher=setup.publisher, metrics=HubMetrics.create())
    await relay.drain_once()
    assert setup.delivered_ids(setup.court) == [event.id]


async def test_nothing_is_published_when_the_commit_fails(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose effects cannot be recorded sends no copy to any agency."""
    consent = setup.consent()
    event = referral_event(setup.hospital, setup.court, consent)
    monkeypatch.setattr(disclosures, "record_many", _refusing_store)

    with pytest.raises(StoreError):
        await setup.router.handle([setup.record(event)])

    assert setup.publisher.messages == []
    with setup.store.transaction() as conn:
        assert referrals.get_referral(conn, event.subject) is None


def _refusing_store(*_args: object, **_kwargs: object) -> None:
    raise StoreError("IntegrityError: refused")


async def test_a_withdrawal_is_sent_to_every_agency_that_received_data(setup: Setup) -> None:
    """Agencies that got data under the consent hear of its withdrawal; others do not."""
    consent = setup.consent()
    referral = referral_event(setup.hospital, setup.court, consent)
    await setup.router.handle([setup.record(referral)])
    withdrawal = withdrawal_event(consent)
    setup.accept(withdrawal)

    await setup.router.handle([setup.record(withdrawal)])

    assert setup.delivered_ids(setup.court) == [referral.id, withdrawal.id]
    assert setup.delivered_ids(setup.shelter) == []
    assert withdrawal.id not in setup.delivered_ids(setup.hospital)


async def test_a_withdrawal_notice_carries_no_reason_of_hers(setup: Setup) -> None:
    """Her reason for withdrawing, narrative she never shared, stays out of every notice."""
    consent = setup.consent()
    await setup.router.handle([setup.record(referral_event(setup.hospital, setup.court, consent))])
    payload = ConsentWithdrawnV1(
        consent_id=consent.consent_id,
        subject_id=consent.subject_id,
        recorded_by=consent.recorded_by,
        withdrawn_at=datetime.now(UTC),
        reason="her partner found the letter",
    )
    withdrawal = new_event(payload, source=setup.hospital.id)
    setup.accept(withdrawal)

    await setup.router.handle([setup.record(withdrawal)])

    (notice,) = [
        m
        for m in setup.publisher.to(inbox_topic(setup.court.id))
        if _header(m, "ce_id") == withdrawal.id
    ]
    opened = in_clear(setup.store, notice)
    assert b"partner" not in opened
    assert json.loads(opened)["consent_id"] == consent.consent_id


async def test_a_referral_after_withdrawal_is_blocked_with_a_notice(setup: Setup) -> None:
    """Once withdrawn, a consent covers no new referral; the referrer gets the notice."""
    consent = setup.consent()
    setup.accept(withdrawal_event(consent))
    referral = referral_event(setup.hospital, setup.court, consent)

    await setup.router.handle([setup.record(referral)])

    assert setup.delivered_ids(setup.court) == []
    (notice,) = setup.publisher.to(inbox_topic(setup.hospital.id))
    assert _header(notice, "ce_type") == "delivery.failed"
    assert b"consent-withdrawn" in in_clear(setup.store, notice)


async def test_an_erased_subjects_record_is_dead_lettered_not_routed(setup: Setup) -> None:
    """A sealed record whose subject was erased meanwhile goes to the DLQ, "subject erased";
    the next record in the batch is routed."""
    consent = setup.consent()
    erased = referral_event(setup.hospital, setup.court, consent)
    record = setup.record(erased)
    now = datetime.now(UTC)
    with setup.store.transaction() as conn:
        erase_subject(conn, AuditRecorder(signer=None, actor="hub"), consent.subject_id, "op", now)
    other = setup.consent()
    good = referral_event(setup.hospital, setup.court, other)

    await setup.router.handle([record, setup.record(good)])

    assert setup.delivered_ids(setup.court) == [good.id]
    (parked,) = setup.publisher.to(ROUTER_DLQ)
    assert _header(parked, "hub_dlq_reason") == "subject erased"
    assert parked.value == record.value
    with setup.store.transaction() as conn:
        (letter,) = dead_letters.list_dead_letters(conn)
        assert referrals.get_referral(conn, erased.subject) is None
    assert (letter.event_id, letter.reason, letter.envelope) == (erased.id, "subject erased", None)


async def test_a_record_the_store_refuses_is_dead_lettered_and_its_batch_routed(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A referral the store keeps refusing goes to the DLQ with the reason; the others route."""
    consent = setup.consent()
    first, bad, last = (referral_event(setup.hospital, setup.court, consent) for _ in range(3))
    insert = referrals.insert_referrals

    def refusing(conn: Any, rows: Sequence[referrals.ReferralRow]) -> None:
        if any(row.referral_id == bad.subject for row in rows):
            raise _refused("IntegrityError: the store refuses this row")
        insert(conn, rows)

    monkeypatch.setattr(referrals, "insert_referrals", refusing)
    handle = isolating(setup.router.handle, setup.router.dead_letter, max_attempts=2, pause_s=0)

    await handle([setup.record(first), setup.record(bad), setup.record(last)])

    assert setup.delivered_ids(setup.court) == [first.id, last.id]
    (parked,) = setup.publisher.to(ROUTER_DLQ)
    assert _header(parked, "ce_id") == bad.id
    assert "the store refuses this row" in _header(parked, "hub_dlq_reason")
    with setup.store.transaction() as conn:
        (letter,) = dead_letters.list_dead_letters(conn)
        assert referrals.get_referral(conn, bad.subject) is None
        logged = [e for e in audit.entries(conn) if e.event_id == bad.id]
    assert letter.event_id == bad.id
    assert "gave up after 2 attempts" in letter.reason
    assert [entry.action for entry in logged] == ["dead-lettered"]


async def test_a_due_date_past_the_calendar_on_the_topic_is_dead_lettered(setup: Setup) -> None:
    """A record that skipped intake with an instant no store can hold never blocks the batch."""
    consent = setup.consent()
    good = referral_event(setup.hospital, setup.court, consent)
    event = referral_event(setup.hospital, setup.court, consent)
    bad = event.with_data({**event.data, "due_by": "0001-01-01T00:00:00+05:00"})

    await setup.router.handle([setup.record(bad), setup.record(good)])

    assert setup.delivered_ids(setup.court) == [good.id]
    (parked,) = setup.publisher.to(ROUTER_DLQ)
    assert "data.due_by" in _header(parked, "hub_dlq_reason")
    with setup.store.transaction() as conn:
        assert referrals.get_referral(conn, bad.subject) is None


def _refused(message: str) -> StoreError:
    error = StoreError(message)
    error.retriable = False
    return error
