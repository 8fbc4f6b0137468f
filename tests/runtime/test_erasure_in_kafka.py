"""Erasure reaches Kafka: every copy the hub publishes is sealed under the survivor's key.

One hub runs against the session's broker with a court that pulls, an NGO
whose webhook accepts and a psychosocial centre whose webhook always fails, so
her data passes through ``hub.ingress``, inbox topics and a dead-letter topic.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from typer.testing import CliRunner

from hub.broker.topics import INGRESS, inbox_topic
from hub.cli._app import app as hub_cli
from hub.consumers.records import IncomingRecord
from hub.consumers.sealing import ERASED, open_records
from hub.contracts import AgencyKind, DataCategory, Purpose, ServiceCode
from hub.contracts.events import ContactPreferences, IdentityAttributes, SafeChannel
from hub.contracts.status import ReferralStatus
from hub.services.replay import replay_dead_letters
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
    post_event,
    referral_event,
    scope,
    started_hub,
    status_event,
    uid,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

EVERY_CATEGORY = tuple(DataCategory)
SECRET = "webhook-secret"


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


@dataclass(frozen=True)
class Survivor:
    """Her pseudonym, and strings of hers that must never sit in Kafka in clear."""

    subject: str
    name: str
    phone: str
    narrative: str

    @property
    def secrets(self) -> tuple[bytes, ...]:
        return tuple(s.encode() for s in (self.name, self.phone, self.narrative))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def net(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Network]:
    with WebhookReceiver() as receiver:
        ngo_path, psy_path = f"/{uid('ngo')}", f"/{uid('psy')}"
        ngo = agency(
            AgencyKind.NGO,
            delivery={
                "mode": "webhook",
                "url": receiver.endpoint(ngo_path, secret=SECRET, status=202),
                "secret": SECRET,
            },
        )
        psy = agency(
            AgencyKind.PSYCHOSOCIAL,
            delivery={
                "mode": "webhook",
                "url": receiver.endpoint(psy_path, secret=SECRET, status=500),
                "secret": SECRET,
            },
        )
        hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
        agencies = [hospital, court, ngo, psy]
        settings = hub_settings(
            tmp_path_factory.mktemp("erasure"), agencies, kafka_bootstrap=kafka_bootstrap
        )
        async with started_hub(settings, agencies) as hub:
            yield Network(
                hub, receiver, kafka_bootstrap, hospital, court, ngo, psy, ngo_path, psy_path
            )


async def every_record(bootstrap: str) -> list[Any]:
    """Every record on every topic of the broker, from the beginning, without a group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # The admin client's answer is complete on both brokers; a consumer's cached
        # metadata may not hold every topic's partitions yet (Apache Kafka).
        described = await admin.describe_topics(await admin.list_topics())
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if not topic.get("is_internal")
        for partition in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        for partition in partitions:
            while await consumer.position(partition) < ends[partition]:
                batch = await consumer.getmany(partition, timeout_ms=500)
                records.extend(batch.get(partition, []))
        return records
    finally:
        await consumer.stop()


def in_clear(records: Iterable[Any], secrets: Sequence[bytes]) -> list[str]:
    """Where any of ``secrets`` appears in a record's key, value or headers."""
    found = []
    for record in records:
        parts = [record.key or b"", record.value or b""]
        parts += [bytes(name.encode()) + b"=" + bytes(value) for name, value in record.headers]
        found += [
            f"{record.topic}@{record.offset}" for part in parts if any(s in part for s in secrets)
        ]
    return found


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


def opened(net: Network, records: Sequence[Any]) -> list[Any]:
    """The records opened with the hub's keys, as its consumers open them."""
    incoming = [
        IncomingRecord(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers))
        for r in records
    ]
    with net.hub.store.transaction() as conn:
        return open_records(conn, incoming)


async def referrals_of_hers(net: Network) -> tuple[Survivor, list[str]]:
    """Referrals of one survivor to the court, the NGO and the failing centre, delivered."""
    tag = uuid.uuid4().hex[:12]
    her = Survivor(
        subject="sub_" + uuid.uuid4().hex,
        name=f"Nadia-{tag}",
        phone=f"+2126{uuid.uuid4().int % 10**9:09d}",
        narrative=f"Narrative {tag}: she left home after the assault.",
    )
    consent = consent_payload(
        net.hospital,
        [
            scope(net.court, (Purpose.JUSTICE,), EVERY_CATEGORY),
            scope(net.ngo, (Purpose.JUSTICE,), EVERY_CATEGORY),
            scope(net.psy, (Purpose.CARE,), EVERY_CATEGORY),
        ],
        subject=her.subject,
    )
    details = {
        "narrative": her.narrative,
        "identity": IdentityAttributes(given_name=her.name, family_name="B."),
        "contact": ContactPreferences(
            do_not_contact=False,
            safe_channel=SafeChannel.PHONE_CALL,
            phone=her.phone,
        ),
    }
    sent = [consent_event(consent)]
    sent += [
        referral_event(net.hospital, net.court, consent, **details),
        referral_event(net.hospital, net.ngo, consent, service=ServiceCode.LEGAL_AID, **details),
        referral_event(
            net.hospital,
            net.psy,
            consent,
            service=ServiceCode.PSYCHOSOCIAL_SUPPORT,
            **details,
        ),
    ]
    for event in sent:
        response = await post_event(net.hub.client, net.hospital, event)
        assert response.status_code == 202, response.text
    to_court, to_ngo, to_psy = sent[1:]
    note = status_event(
        net.court, to_court.subject, ReferralStatus.ACCEPTED, note=f"Reached her on {her.phone}."
    )
    response = await post_event(net.hub.client, net.court, note)
    assert response.status_code == 202, response.text

    # Agencies still get her data in clear over their own channels.
    (court_copy,) = await wait_for_inbox(
        net.hub.client, net.court, lambda e: e["id"] == to_court.id
    )
    assert court_copy["data"]["narrative"] == her.narrative
    assert court_copy["data"]["identity"]["given_name"] == her.name
    (heard,) = await wait_for_inbox(net.hub.client, net.hospital, lambda e: e["id"] == note.id)
    assert her.phone in heard["data"]["note"]
    webhooks = await eventually(
        lambda: asyncio.to_thread(net.receiver.received, net.ngo_path),
        lambda found: any(to_ngo.id.encode() in r.body for r in found),
    )
    assert any(her.phone.encode() in r.body for r in webhooks if to_ngo.id.encode() in r.body)
    await wait_for_inbox(
        net.hub.client,
        net.hospital,
        lambda e: e["type"] == "delivery.failed" and e["data"]["failed_event_id"] == to_psy.id,
    )
    return her, [to_court.subject, to_ngo.subject, to_psy.subject]


def erase(net: Network, subject: str) -> None:
    result = CliRunner().invoke(
        hub_cli,
        ["erase", "--subject", subject, "--database", net.hub.hub.services.settings.database_url],
    )
    assert result.exit_code == 0, result.output


async def test_erasure_leaves_no_readable_copy_of_her_on_any_topic(net: Network) -> None:
    """Her name, phone and narrative are never in clear on any topic, a replayed dead letter
    included, and after ``hub erase`` no copy of hers on any topic can be opened."""
    her, referral_ids = await referrals_of_hers(net)
    # A dead letter replayed goes back through the outbox to the centre's inbox topic.
    replayed = await asyncio.to_thread(
        replay_dead_letters, net.hub.store, now=datetime.now(UTC), agency_id=net.psy.id
    )
    assert "replayed" in {result.outcome for result in replayed}
    psy_inbox = inbox_topic(net.psy.id)

    def replay_arrived(records: list[Any]) -> bool:
        to_psy = [r for r in records if r.topic == psy_inbox]
        return sum(header(r, "ce_subject") == referral_ids[2] for r in to_psy) >= 2

    before = await eventually(lambda: every_record(net.bootstrap), replay_arrived)
    assert in_clear(before, her.secrets) == []
    hers = [r for r in before if header(r, "ce_subject") in referral_ids]
    topics = {r.topic for r in hers}
    assert INGRESS in topics
    assert inbox_topic(net.court.id) in topics
    assert f"agency.{net.psy.id}.dlq" in topics
    readable = b"".join(o.value for o in opened(net, hers) if o.value is not None)
    assert all(secret in readable for secret in her.secrets)

    erase(net, her.subject)

    after = await every_record(net.bootstrap)
    assert in_clear(after, her.secrets) == []
    hers = [r for r in after if header(r, "ce_subject") in referral_ids]
    assert len(hers) >= len([r for r in before if header(r, "ce_subject") in referral_ids])
    assert {o.refusal for o in opened(net, hers)} == {ERASED}


async def test_an_erased_subjects_record_is_dead_lettered_and_the_hub_goes_on(
    net: Network,
) -> None:
    """A copy of an erased survivor's event reaching the router or a delivery worker is
    dead-lettered as "subject erased"; the next survivor's referral still arrives."""
    her, referral_ids = await referrals_of_hers(net)
    records = await every_record(net.bootstrap)
    court_inbox = inbox_topic(net.court.id)
    (ingress_copy,) = [
        r
        for r in records
        if r.topic == INGRESS
        and header(r, "ce_type") == "referral.requested"
        and header(r, "ce_subject") == referral_ids[0]
    ]
    (inbox_copy,) = [
        r for r in records if r.topic == court_inbox and header(r, "ce_subject") == referral_ids[0]
    ]
    erase(net, her.subject)

    producer = AIOKafkaProducer(bootstrap_servers=net.bootstrap, acks="all")
    await producer.start()
    try:
        for topic, copy in ((INGRESS, ingress_copy), (court_inbox, inbox_copy)):
            # Under a new id, so neither consumer takes it for one it has handled.
            headers = [(k, uid("again").encode() if k == "ce_id" else v) for k, v in copy.headers]
            await producer.send_and_wait(topic, copy.value, key=copy.key, headers=headers)
    finally:
        await producer.stop()

    def read() -> list[dead_letters.DeadLetterRow]:
        with net.hub.store.transaction() as conn:
            return dead_letters.list_dead_letters(conn)

    letters = await eventually(
        lambda: asyncio.to_thread(read),
        lambda found: (
            {INGRESS, f"agency.{net.court.id}.dlq"}
            <= {d.topic for d in found if d.reason == ERASED}
        ),
    )
    assert all(d.envelope is None for d in letters if d.reason == ERASED)
    after, _ = await referrals_of_hers(net)
    assert after.subject != her.subject
