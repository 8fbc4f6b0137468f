"""End to end over TCP: HTTP API, outbox relay, real broker, router, delivery workers.

One hub runs for the module against the session's embedded broker. Its agencies:
a hospital and a court that pull, an NGO receiving signed webhooks, and a
psychosocial centre whose webhook endpoint always answers 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import MetaData, select

from hub.broker.topics import INGRESS, ROUTER_DLQ, dlq_topic
from hub.contracts import AgencyKind, DataCategory, Purpose, ServiceCode
from hub.contracts.status import ReferralStatus
from hub.store import dead_letters
from tests.support import (
    Agency,
    HubUnderTest,
    WebhookReceiver,
    agency,
    consent_event,
    consent_payload,
    eventually,
    hub_settings,
    inbox_events,
    outcome_event,
    post_event,
    referral_event,
    scope,
    started_hub,
    status_event,
    uid,
    wait_for_inbox,
    withdrawal_event,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

NGO_SECRET = "ngo-webhook-secret"
PSY_SECRET = "psy-webhook-secret"
#: What the court may see: everything but identity and legal.
COURT_CATEGORIES = (
    DataCategory.CONTACT,
    DataCategory.NARRATIVE,
    DataCategory.SAFETY_RISK,
    DataCategory.MEDICAL,
    DataCategory.EVIDENCE,
)
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Network:
    hub: HubUnderTest
    receiver: WebhookReceiver
    bootstrap: str
    hospital: Agency
    court: Agency
    ngo: Agency
    psy: Agency
    ngo_path: str
    psy_path: str

    async def post(self, sender: Agency, event: Any) -> None:
        response = await post_event(self.hub.client, sender, event)
        assert response.status_code == 202, response.text

    def consent(self, *scopes: Any) -> Any:
        return consent_payload(
            self.hospital,
            scopes or [scope(self.court, (Purpose.JUSTICE,), COURT_CATEGORIES)],
        )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def net(
    kafka_bootstrap: str, kafka_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Network]:
    with WebhookReceiver() as receiver:
        ngo_path, psy_path = f"/{uid('ngo')}", f"/{uid('psy')}"
        ngo_url = receiver.endpoint(ngo_path, secret=NGO_SECRET, status=202)
        psy_url = receiver.endpoint(psy_path, secret=PSY_SECRET, status=500)
        hospital = agency(AgencyKind.HOSPITAL)
        court = agency(AgencyKind.COURT)
        ngo = agency(
            AgencyKind.NGO, delivery={"mode": "webhook", "url": ngo_url, "secret": NGO_SECRET}
        )
        psy = agency(
            AgencyKind.PSYCHOSOCIAL,
            delivery={"mode": "webhook", "url": psy_url, "secret": PSY_SECRET},
        )
        agencies = [hospital, court, ngo, psy]
        settings = hub_settings(
            tmp_path_factory.mktemp("e2e"),
            agencies,
            kafka_bootstrap=kafka_bootstrap,
            kafka_engine=kafka_engine,
            delivery={
                "max_attempts": MAX_ATTEMPTS,
                "backoff_initial_s": 0.05,
                "backoff_max_s": 0.2,
                "timeout_s": 2.0,
            },
        )
        async with started_hub(settings, agencies) as hub:
            yield Network(
                hub, receiver, kafka_bootstrap, hospital, court, ngo, psy, ngo_path, psy_path
            )


async def topic_records(bootstrap: str, topic: str) -> list[Any]:
    """Every record now on partition 0 of ``topic``, read without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        records: list[Any] = []
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=500)
            records.extend(batch.get(partition, []))
        return records
    finally:
        await consumer.stop()


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


async def stored_dead_letters(net: Network, **filters: Any) -> list[dead_letters.DeadLetterRow]:
    def read() -> list[dead_letters.DeadLetterRow]:
        with net.hub.store.transaction() as conn:
            return dead_letters.list_dead_letters(conn, **filters)

    return await asyncio.to_thread(read)


def by_id(event_id: str) -> Any:
    return lambda event: event["id"] == event_id


# -- the closed loop ---------------------------------------------------------------------


async def test_a_referral_goes_round_the_closed_loop(net: Network) -> None:
    """The court pulls the referral minus identity and legal; its acceptance and outcome
    reach the hospital, and the referral's timeline shows all three steps."""
    client = net.hub.client
    consent = net.consent()
    await net.post(net.hospital, consent_event(consent))
    referral = referral_event(net.hospital, net.court, consent)
    await net.post(net.hospital, referral)

    (received,) = await wait_for_inbox(client, net.court, by_id(referral.id))
    assert received["type"] == "referral.requested"
    assert received["consentid"] == consent.consent_id
    withheld = {"identity", "legal"}
    assert withheld.isdisjoint(received["data"])
    assert received["data"] == {k: v for k, v in referral.data.items() if k not in withheld}

    accepted = status_event(net.court, referral.subject, ReferralStatus.ACCEPTED)
    await net.post(net.court, accepted)
    (heard,) = await wait_for_inbox(client, net.hospital, by_id(accepted.id))
    assert heard["data"]["status"] == "accepted"
    assert heard["data"]["note"] == accepted.data["note"]

    outcome = outcome_event(net.court, referral.subject)
    await net.post(net.court, outcome)
    (result,) = await wait_for_inbox(client, net.hospital, by_id(outcome.id))
    assert result["data"]["outcome"] == "complaint-filed"

    view = await client.get(f"/v1/referrals/{referral.subject}", headers=net.hospital.auth)
    assert view.json()["status"] == "accepted"
    assert [e["event_id"] for e in view.json()["timeline"]] == [
        referral.id,
        accepted.id,
        outcome.id,
    ]
    # Nothing meant for the court went anywhere else.
    hospital_ids = {e["id"] for e in await inbox_events(client, net.hospital)}
    assert referral.id not in hospital_ids


async def test_a_webhook_agency_receives_signed_events(net: Network) -> None:
    """The NGO's endpoint receives the referral as a structured CloudEvent with a valid HMAC,
    and the NGO's answer over the API reaches the hospital."""
    consent = net.consent(scope(AgencyKind.NGO, (Purpose.JUSTICE,), (DataCategory.CONTACT,)))
    await net.post(net.hospital, consent_event(consent))
    referral = referral_event(net.hospital, net.ngo, consent, service=ServiceCode.LEGAL_AID)
    await net.post(net.hospital, referral)

    async def for_this_referral() -> list[Any]:
        return [
            r
            for r in net.receiver.received(net.ngo_path)
            if json.loads(r.body)["id"] == referral.id
        ]

    (request,) = await eventually(for_this_referral, lambda found: len(found) >= 1)
    assert request.signature_ok is True
    delivered = json.loads(request.body)
    assert delivered["subject"] == referral.subject
    assert set(delivered["data"]) & {"narrative", "medical", "identity"} == set()
    assert delivered["data"]["contact"] == referral.data["contact"]

    received = status_event(net.ngo, referral.subject, ReferralStatus.RECEIVED)
    await net.post(net.ngo, received)
    await wait_for_inbox(net.hub.client, net.hospital, by_id(received.id))


async def test_a_failing_webhook_is_retried_then_dead_lettered(net: Network) -> None:
    """An endpoint answering 500 gets every attempt, then the event lands in the agency's
    DLQ topic and the store, and the referrer is told the delivery failed."""
    consent = net.consent(scope(net.psy, (Purpose.CARE,), (DataCategory.CONTACT,)))
    await net.post(net.hospital, consent_event(consent))
    referral = referral_event(
        net.hospital, net.psy, consent, service=ServiceCode.PSYCHOSOCIAL_SUPPORT
    )
    await net.post(net.hospital, referral)

    (notice,) = await wait_for_inbox(
        net.hub.client,
        net.hospital,
        lambda e: e["type"] == "delivery.failed" and e["data"]["failed_event_id"] == referral.id,
    )
    assert notice["data"]["reason"] == "retries-exhausted"
    assert notice["data"]["recipient"] == net.psy.id
    assert notice["data"]["attempts"] == MAX_ATTEMPTS
    assert "500" in notice["data"]["detail"]

    attempts = [
        r for r in net.receiver.received(net.psy_path) if json.loads(r.body)["id"] == referral.id
    ]
    assert len(attempts) == MAX_ATTEMPTS
    assert all(r.signature_ok for r in attempts)

    (letter,) = [
        d for d in await stored_dead_letters(net, agency_id=net.psy.id) if d.event_id == referral.id
    ]
    assert letter.topic == dlq_topic(net.psy.id)
    assert letter.attempts == MAX_ATTEMPTS
    assert letter.envelope is not None
    assert letter.envelope["id"] == referral.id
    assert "500" in letter.reason

    records = await topic_records(net.bootstrap, dlq_topic(net.psy.id))
    (record,) = [r for r in records if header(r, "ce_id") == referral.id]
    assert "500" in (header(record, "hub_dlq_reason") or "")


async def test_a_withdrawn_consent_blocks_later_events(net: Network) -> None:
    """After withdrawal the court is told, and a later referral under that consent never
    reaches it; the hospital hears that consent was withdrawn."""
    client = net.hub.client
    consent = net.consent()
    await net.post(net.hospital, consent_event(consent))
    first = referral_event(net.hospital, net.court, consent)
    await net.post(net.hospital, first)
    await wait_for_inbox(client, net.court, by_id(first.id))

    withdrawal = withdrawal_event(consent)
    await net.post(net.hospital, withdrawal)
    await wait_for_inbox(client, net.court, by_id(withdrawal.id))
    status = await client.get(f"/v1/consents/{consent.consent_id}", headers=net.hospital.auth)
    assert status.json()["status"] == "withdrawn"

    later = referral_event(net.hospital, net.court, consent)
    await net.post(net.hospital, later)

    (notice,) = await wait_for_inbox(
        client,
        net.hospital,
        lambda e: e["type"] == "delivery.failed" and e["data"]["failed_event_id"] == later.id,
    )
    assert notice["data"]["reason"] == "consent-withdrawn"
    assert notice["data"]["recipient"] == net.court.id
    assert later.id not in {e["id"] for e in await inbox_events(client, net.court)}


async def test_poison_records_are_dead_lettered_without_blocking_their_partition(
    net: Network,
) -> None:
    """Garbage and an unknown event type written straight to ingress are dead-lettered;
    the next event on the same partition is still routed."""
    consent = net.consent()
    await net.post(net.hospital, consent_event(consent))
    referral = referral_event(net.hospital, net.court, consent)
    key = referral.subject.encode()
    not_json, unknown_type = uid("poison"), uid("poison")
    producer = AIOKafkaProducer(bootstrap_servers=net.bootstrap, acks="all")
    await producer.start()
    try:
        first = await producer.send_and_wait(
            INGRESS, b"\x00\x01 not json", key=key, headers=[("ce_id", not_json.encode())]
        )
        second = await producer.send_and_wait(
            INGRESS,
            b'{"referral_id": "x"}',
            key=key,
            headers=[
                ("ce_specversion", b"1.0"),
                ("ce_id", unknown_type.encode()),
                ("ce_source", net.hospital.id.encode()),
                ("ce_type", b"referral.teleported"),
                ("ce_time", b"2026-03-14T09:30:00Z"),
                ("ce_subject", key),
                (
                    "ce_dataschema",
                    b"https://referral-hub.org/contracts/schemas/referral.teleported/v1.json",
                ),
                ("content-type", b"application/json"),
            ],
        )
    finally:
        await producer.stop()
    assert first.partition == second.partition

    await net.post(net.hospital, referral)

    await wait_for_inbox(net.hub.client, net.court, by_id(referral.id))
    letters = await eventually(
        lambda: stored_dead_letters(net),
        lambda found: {not_json, unknown_type} <= {d.event_id for d in found},
    )
    reasons = {d.event_id: d.reason for d in letters}
    assert "not JSON" in reasons[not_json]
    assert "referral.teleported" in reasons[unknown_type]
    assert {d.topic for d in letters if d.event_id in (not_json, unknown_type)} == {INGRESS}
    parked = await topic_records(net.bootstrap, ROUTER_DLQ)
    assert {not_json, unknown_type} <= {header(r, "ce_id") for r in parked}


async def test_an_unreadable_inbox_record_is_dead_lettered_for_its_agency(net: Network) -> None:
    """A record in an agency's inbox topic that is not an event is parked in that agency's
    DLQ; the agency's next event still arrives."""
    consent = net.consent()
    await net.post(net.hospital, consent_event(consent))
    referral = referral_event(net.hospital, net.court, consent)
    producer = AIOKafkaProducer(bootstrap_servers=net.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            f"agency.{net.court.id}.inbox", b"garbage", key=referral.subject.encode()
        )
    finally:
        await producer.stop()

    await net.post(net.hospital, referral)

    await wait_for_inbox(net.hub.client, net.court, by_id(referral.id))
    letters = await eventually(
        lambda: stored_dead_letters(net, agency_id=net.court.id),
        lambda found: any("unreadable" in d.reason for d in found),
    )
    assert all(d.topic == dlq_topic(net.court.id) for d in letters)


async def test_the_store_holds_no_webhook_url_or_secret(net: Network) -> None:
    """After a webhook delivery no table of the store holds an endpoint's URL, path or secret."""
    consent = net.consent(scope(AgencyKind.NGO, (Purpose.JUSTICE,), (DataCategory.CONTACT,)))
    await net.post(net.hospital, consent_event(consent))
    referral = referral_event(net.hospital, net.ngo, consent, service=ServiceCode.LEGAL_AID)
    await net.post(net.hospital, referral)

    async def delivered() -> list[Any]:
        return [r for r in net.receiver.received(net.ngo_path) if referral.id in r.body.decode()]

    await eventually(delivered, lambda found: len(found) >= 1)

    def every_stored_text() -> str:
        tables = MetaData()
        tables.reflect(net.hub.store.engine)
        with net.hub.store.transaction() as conn:
            rows = (row for table in tables.sorted_tables for row in conn.execute(select(table)))
            return "\n".join(repr(tuple(row)) for row in rows)

    stored = await asyncio.to_thread(every_stored_text)
    for secret in (net.ngo_path, net.psy_path, NGO_SECRET, PSY_SECRET):
        assert secret not in stored
