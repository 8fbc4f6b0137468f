"""Two routers in one consumer group on a real broker: one leaves mid-stream.

Its partitions move to the other router; records it had read but not yet
acknowledged are read again there. The store must show every event's effect
exactly once: none lost with the leaving router, none applied twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker

from hub.broker.kafka import KafkaSettings, make_producer
from hub.broker.topics import TopicSpec, ensure_topics, inbox_topic
from hub.consumers.journal import journal_id
from hub.consumers.records import IncomingRecord, OutgoingMessage
from hub.consumers.router import ROUTER_CONSUMER, IngressRouter
from hub.consumers.routing import AgencyView
from hub.consumers.sealing import seal_messages
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, default_registry
from hub.observability import HubMetrics
from hub.runtime.publisher import KafkaPublisher
from hub.runtime.subscribers import subscribe_batches
from hub.services.envelopes import event_key
from hub.services.intake import accept_event
from hub.store import Store, disclosures, outbox, processed, referrals
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    eventually,
    kafka_client_settings,
    referral_event,
    scope,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REGISTRY = default_registry()
HOSPITAL, COURT = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)


class _Copies:
    """Where the routers' copies would go; they are counted, not sent on."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        self.ids.extend(
            dict(m.headers)["ce_id"].decode() for m in messages if m.topic == inbox_topic(COURT.id)
        )


class _Instance:
    """One router process: its own consumer in the shared group."""

    def __init__(self, store: Store, copies: _Copies, bootstrap: str, session_ms: int) -> None:
        self.handled = 0
        self._router = IngressRouter(
            store=store,
            registry=REGISTRY,
            agencies={a.id: AgencyView(a.id, a.kind) for a in (HOSPITAL, COURT)},
            publisher=copies,
            metrics=HubMetrics.create(),
            hub_id="referral-hub",
        )
        self.broker = KafkaBroker(bootstrap, logger=logging.getLogger("hub.faststream"))
        self._session_ms = session_ms

    def join(self, topic: str, group: str) -> None:
        subscribe_batches(
            self.broker,
            [topic],
            group,
            self._handle,
            session_timeout_ms=self._session_ms,
            max_records=5,  # small batches: the leave falls between many of them
        )

    async def _handle(self, records: Sequence[IncomingRecord]) -> None:
        await self._router.handle(records)
        self.handled += len(records)


@pytest.fixture
def store(postgres_schema_url: str) -> Iterator[Store]:
    with Store.open(postgres_schema_url) as opened:
        yield opened


async def test_a_router_leaving_its_group_mid_stream_loses_and_repeats_no_effect(
    store: Store, kafka_bootstrap: str, kafka_engine: str
) -> None:
    """Every referral is projected, disclosed and journalled exactly once across a rebalance."""
    settings = kafka_client_settings(kafka_engine)
    topic, group = f"ingress-{uuid.uuid4().hex[:8]}", f"router-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 4)])
    consent = consent_payload(HOSPITAL, [scope(COURT, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    accept_event(store, REGISTRY, consent_event(consent), sender=HOSPITAL.id, now=datetime.now(UTC))
    copies = _Copies()
    session_ms = int(settings["consumer_session_timeout_ms"])
    staying, leaving = (_Instance(store, copies, kafka_bootstrap, session_ms) for _ in range(2))
    for instance in (staying, leaving):
        instance.join(topic, group)
    producer = make_producer(
        KafkaSettings(kafka_bootstrap, idempotent_producer=settings["kafka_idempotent_producer"])
    )
    await producer.start()
    sent: list[CloudEvent] = []

    async def send(count: int) -> None:
        for _ in range(count):
            event = referral_event(HOSPITAL, COURT, consent)
            with store.transaction() as conn:
                (message,) = seal_messages(conn, [(topic, event)], datetime.now(UTC))
            assert message is not None
            await KafkaPublisher(producer).publish([message])
            sent.append(event)
            await asyncio.sleep(0.01)

    try:
        await staying.broker.start()
        await leaving.broker.start()
        # Stream until both routers hold partitions and have routed some of it.
        while not (staying.handled and leaving.handled):
            assert len(sent) < 3000, "the two routers never shared the partitions"
            await send(5)
        streaming = asyncio.create_task(send(150))
        await asyncio.sleep(0.2)
        await leaving.broker.stop()  # mid-stream, with batches read and not yet acknowledged
        await streaming
        keys = [event_key(event) for event in sent]

        def routed() -> set[tuple[str, str]]:
            with store.transaction() as conn:
                return processed.processed_among(conn, ROUTER_CONSUMER, keys)

        await eventually(
            lambda: asyncio.to_thread(routed), lambda done: len(done) == len(keys), within_s=60.0
        )
    finally:
        await staying.broker.stop()
        await leaving.broker.stop()
        await producer.stop()

    with store.transaction() as conn:
        for event in sent:
            timeline = referrals.timeline(conn, event.subject)
            assert [entry.event_id for entry in timeline] == [event.id]
            assert len(disclosures.for_referral(conn, event.subject)) == 1
            assert outbox.get(conn, event.source, journal_id(event.id, COURT.id)) is not None
    assert set(copies.ids) == {event.id for event in sent}
