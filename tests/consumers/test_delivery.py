"""Delivery workers with scripted transports, a real SQLite store and no broker."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.audit import AuditRecorder, erase_subject
from hub.broker.topics import dlq_topic, inbox_topic
from hub.config import AgencyConfig, DeliverySettings, load_settings
from hub.consumers.delivery import DeliveryWorker
from hub.consumers.isolation import isolating
from hub.consumers.records import IncomingRecord, OutgoingMessage, outgoing
from hub.consumers.sealing import seal_messages
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, default_registry
from hub.contracts.events import ConsentGrantedV1
from hub.delivery import PullTransport
from hub.errors import DeliveryError, StoreError
from hub.observability import HubMetrics
from hub.services.intake import accept_event
from hub.services.vault import unseal
from hub.store import Store, dead_letters, inbox
from tests.consumers.sealed import in_clear
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    referral_event,
    scope,
    withdrawal_event,
)

REGISTRY = default_registry()
MAX_ATTEMPTS = 4


@dataclass
class ScriptedTransport:
    """A webhook stand-in: each attempt takes the next outcome (None = delivered)."""

    outcomes: list[DeliveryError | None]
    mode: str = "webhook"
    delivered: list[str] = field(default_factory=list)
    attempts: int = 0
    on_attempt: Any = None

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None:
        self.attempts += 1
        if self.on_attempt is not None:
            self.on_attempt()
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.delivered.append(event.id)


@dataclass
class RecordingPublisher:
    messages: list[OutgoingMessage] = field(default_factory=list)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages.extend(messages)

    def to(self, topic: str) -> list[OutgoingMessage]:
        return [m for m in self.messages if m.topic == topic]


@dataclass
class Setup:
    store: Store
    hospital: AgencyConfig
    court: AgencyConfig
    ngo: AgencyConfig
    publisher: RecordingPublisher
    sleeps: list[float]
    offsets: Iterator[int] = field(default_factory=itertools.count)

    def worker(self, transport: ScriptedTransport) -> DeliveryWorker:
        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        return DeliveryWorker(
            store=self.store,
            agencies={a.id: a for a in (self.hospital, self.court, self.ngo)},
            transports={"pull": PullTransport(self.store), "webhook": transport},
            publisher=self.publisher,
            metrics=HubMetrics.create(),
            settings=DeliverySettings(
                max_attempts=MAX_ATTEMPTS, backoff_initial_s=0.1, backoff_max_s=0.4
            ),
            hub_id="referral-hub",
            sleep=sleep,
            rng=random.Random(3),
        )

    def consent(self) -> ConsentGrantedV1:
        payload = consent_payload(
            self.hospital.id,
            [
                scope(AgencyKind.NGO, (Purpose.JUSTICE,), (DataCategory.CONTACT,)),
                scope(AgencyKind.COURT, (Purpose.JUSTICE,), (DataCategory.CONTACT,)),
            ],
        )
        self.accept(consent_event(payload))
        return payload

    def accept(self, event: CloudEvent) -> None:
        accept_event(self.store, REGISTRY, event, sender=event.source, now=datetime.now(UTC))

    def record(self, recipient: AgencyConfig, event: CloudEvent) -> IncomingRecord:
        """The copy as the router publishes it: its data sealed under the subject's key."""
        with self.store.transaction() as conn:
            (message,) = seal_messages(
                conn, [(inbox_topic(recipient.id), event)], datetime.now(UTC)
            )
        assert message is not None
        return IncomingRecord(
            message.topic, 0, next(self.offsets), message.key, message.value, message.headers
        )

    def referral_to(self, recipient: AgencyConfig) -> CloudEvent:
        return referral_event(self.hospital.id, recipient.id, self.consent())


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    entries = [agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)]
    ngo = agency(
        AgencyKind.NGO,
        delivery={"mode": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s"},
    )
    configured = load_settings(None, agencies=[a.config() for a in [*entries, ngo]]).agencies
    hospital, court, ngo_config = configured
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as store:
        yield Setup(store, hospital, court, ngo_config, RecordingPublisher(), [])


def failing(retriable: bool = True) -> DeliveryError:
    return DeliveryError("endpoint answered 503", retriable=retriable)


async def test_a_retriable_failure_is_retried_until_delivered(setup: Setup) -> None:
    """Two failed attempts, then success: delivered once, with growing capped waits between."""
    transport = ScriptedTransport([failing(), failing(), None])
    event = setup.referral_to(setup.ngo)

    await setup.worker(transport).handle([setup.record(setup.ngo, event)])

    assert transport.attempts == 3
    assert transport.delivered == [event.id]
    assert len(setup.sleeps) == 2
    assert 0 <= setup.sleeps[0] <= 0.1
    assert 0 <= setup.sleeps[1] <= 0.2
    assert setup.publisher.messages == []


async def test_an_endpoint_that_keeps_failing_is_dead_lettered(setup: Setup) -> None:
    """After the last attempt the event goes to the agency's DLQ and store; the sender hears."""
    transport = ScriptedTransport([failing()] * MAX_ATTEMPTS)
    event = setup.referral_to(setup.ngo)

    await setup.worker(transport).handle([setup.record(setup.ngo, event)])

    assert transport.attempts == MAX_ATTEMPTS
    (parked,) = setup.publisher.to(dlq_topic(setup.ngo.id))
    assert in_clear(setup.store, parked) == outgoing("x", event).value
    assert parked.headers[-1] == ("hub_dlq_reason", b"endpoint answered 503")
    (notice,) = setup.publisher.to(inbox_topic(setup.hospital.id))
    assert b'"reason":"retries-exhausted"' in in_clear(setup.store, notice)
    assert f'"attempts":{MAX_ATTEMPTS}'.encode() in in_clear(setup.store, notice)
    with setup.store.transaction() as conn:
        (letter,) = dead_letters.list_dead_letters(conn, agency_id=setup.ngo.id)
        assert letter.envelope is not None
        assert unseal(conn, letter.envelope) == event.structured()
    assert letter.event_id == event.id
    assert letter.attempts == MAX_ATTEMPTS


async def test_a_final_failure_is_dead_lettered_at_once(setup: Setup) -> None:
    """A non-retriable answer (a 400, say) is not tried again."""
    transport = ScriptedTransport([failing(retriable=False)])
    event = setup.referral_to(setup.ngo)

    await setup.worker(transport).handle([setup.record(setup.ngo, event)])

    assert transport.attempts == 1
    assert setup.sleeps == []
    assert len(setup.publisher.to(dlq_topic(setup.ngo.id))) == 1


async def test_a_failure_notice_reaches_the_sender_only_after_it_is_recorded(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the dead letter cannot be recorded, no notice or DLQ copy is published either."""
    transport = ScriptedTransport([failing(retriable=False)])
    event = setup.referral_to(setup.ngo)
    monkeypatch.setattr(dead_letters, "add", _store_refuses)

    with pytest.raises(StoreError):
        await setup.worker(transport).handle([setup.record(setup.ngo, event)])

    assert setup.publisher.messages == []


async def test_a_copy_the_inbox_refuses_is_dead_lettered_and_the_rest_delivered(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One event a pull inbox keeps refusing goes to the DLQ; its batch is delivered."""
    first, bad, last = (setup.referral_to(setup.court) for _ in range(3))
    add_many = inbox.add_many

    def refusing(conn: Any, agency_id: str, items: Any, at: datetime) -> set[str]:
        if any(key[1] == bad.id for key, _ in items):
            _store_refuses()
        return add_many(conn, agency_id, items, at)

    monkeypatch.setattr(inbox, "add_many", refusing)
    worker = setup.worker(ScriptedTransport([]))
    handle = isolating(worker.handle, worker.dead_letter, max_attempts=2, pause_s=0)

    records = [setup.record(setup.court, e) for e in (first, bad, last)]
    await handle(records)

    with setup.store.transaction() as conn:
        rows = inbox.list_after(conn, setup.court.id, after_seq=0, limit=10)
        held = [row.event_id for row in rows]
        (letter,) = dead_letters.list_dead_letters(conn, agency_id=setup.court.id)
    assert held == [first.id, last.id]
    assert letter.event_id == bad.id
    assert "gave up after 2 attempts" in letter.reason
    (parked,) = setup.publisher.to(dlq_topic(setup.court.id))
    assert parked.value == records[1].value  # as it arrived, still sealed
    (notice,) = setup.publisher.to(inbox_topic(setup.hospital.id))
    assert bad.id.encode() in in_clear(setup.store, notice)


def _store_refuses(*_args: object, **_kwargs: object) -> Any:
    error = StoreError("IntegrityError: refused")
    error.retriable = False
    raise error


async def test_a_withdrawal_during_retries_cancels_the_delivery(setup: Setup) -> None:
    """Consent withdrawn while an event waits for its next attempt: no more attempts, no DLQ."""
    consent = setup.consent()
    event = referral_event(setup.hospital.id, setup.ngo.id, consent)

    def withdraw_once() -> None:
        if transport.attempts == 1:
            setup.accept(withdrawal_event(consent))

    transport = ScriptedTransport([failing()] * MAX_ATTEMPTS, on_attempt=withdraw_once)

    await setup.worker(transport).handle([setup.record(setup.ngo, event)])

    assert transport.attempts == 1
    assert transport.delivered == []
    assert setup.publisher.messages == []


async def test_events_under_a_withdrawn_consent_are_not_delivered(setup: Setup) -> None:
    """An event still in the inbox topic when its consent is withdrawn is never handed over."""
    consent = setup.consent()
    to_court = referral_event(setup.hospital.id, setup.court.id, consent)
    to_ngo = referral_event(setup.hospital.id, setup.ngo.id, consent)
    setup.accept(withdrawal_event(consent))
    transport = ScriptedTransport([])

    await setup.worker(transport).handle(
        [setup.record(setup.court, to_court), setup.record(setup.ngo, to_ngo)]
    )

    assert transport.attempts == 0
    with setup.store.transaction() as conn:
        assert inbox.get(conn, setup.court.id, (to_court.source, to_court.id)) is None


async def test_an_event_delivered_before_is_not_delivered_again(setup: Setup) -> None:
    """A redelivered inbox record (after a crash) does not reach the webhook twice."""
    transport = ScriptedTransport([])
    worker = setup.worker(transport)
    event = setup.referral_to(setup.ngo)

    await worker.handle([setup.record(setup.ngo, event)])
    await worker.handle([setup.record(setup.ngo, event)])

    assert transport.delivered == [event.id]


async def test_pull_agencies_get_their_events_in_the_inbox_table(setup: Setup) -> None:
    """A pull agency's events are stored for ``GET /v1/inbox``, once each."""
    event = setup.referral_to(setup.court)
    worker = setup.worker(ScriptedTransport([]))

    await worker.handle([setup.record(setup.court, event), setup.record(setup.court, event)])

    with setup.store.transaction() as conn:
        rows = inbox.list_after(conn, setup.court.id, after_seq=0, limit=10)
    assert [row.event_id for row in rows] == [event.id]


async def test_an_erased_subjects_copy_is_dead_lettered_not_delivered(setup: Setup) -> None:
    """A copy in the inbox topic whose subject was erased meanwhile is never handed over: it
    goes to the agency's DLQ, "subject erased", still sealed, and nobody is sent a notice."""
    transport = ScriptedTransport([None])
    consent = setup.consent()
    event = referral_event(setup.hospital.id, setup.ngo.id, consent)
    record = setup.record(setup.ngo, event)
    now = datetime.now(UTC)
    with setup.store.transaction() as conn:
        erase_subject(conn, AuditRecorder(signer=None, actor="hub"), consent.subject_id, "op", now)

    await setup.worker(transport).handle([record])

    assert transport.attempts == 0
    (parked,) = setup.publisher.to(dlq_topic(setup.ngo.id))
    assert parked.value == record.value
    assert parked.headers[-1] == ("hub_dlq_reason", b"subject erased")
    assert setup.publisher.to(inbox_topic(setup.hospital.id)) == []
    with setup.store.transaction() as conn:
        (letter,) = dead_letters.list_dead_letters(conn, agency_id=setup.ngo.id)
    assert (letter.reason, letter.envelope) == ("subject erased", None)
