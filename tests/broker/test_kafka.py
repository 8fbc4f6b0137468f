"""Client factories and readiness checks against a real broker over TCP."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from hub.broker import (
    KafkaSettings,
    TopicSpec,
    ensure_topics,
    make_consumer,
    make_producer,
    ping,
    wait_until_ready,
)
from hub.errors import BrokerError
from tests.apache_kafka import ApacheKafka
from tests.support import group_timings, kafka_client_settings


def _settings(bootstrap: str, kafka_engine: str) -> KafkaSettings:
    """The hub's client settings for ``kafka_engine``: idempotent on Apache Kafka."""
    idempotent = bool(kafka_client_settings(kafka_engine)["kafka_idempotent_producer"])
    return KafkaSettings(bootstrap, idempotent_producer=idempotent)


def _name(kind: str) -> str:
    return f"test.kafka.{kind}.{uuid.uuid4().hex[:12]}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _drain(consumer: AIOKafkaConsumer, expected: int) -> list[ConsumerRecord[Any, Any]]:
    records: list[ConsumerRecord[Any, Any]] = []
    for _ in range(40):
        batches = await consumer.getmany(timeout_ms=250)
        for batch in batches.values():
            records.extend(batch)
        if len(records) >= expected:
            break
    return records


async def _produce(settings: KafkaSettings, topic: str, values: Sequence[bytes]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


@pytest.mark.integration
async def test_keyed_round_trip_keeps_headers_and_key_order(
    kafka_bootstrap: str, kafka_engine: str
) -> None:
    """Records keep key, value and headers; one key always lands on one partition, in order."""
    topic = _name("keyed")
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 3)])
    settings = _settings(kafka_bootstrap, kafka_engine)
    keys = [f"referral-{n}".encode() for n in range(4)]

    producer = make_producer(settings)
    await producer.start()
    try:
        sent: dict[int, tuple[bytes, int]] = {}
        for seq in range(12):
            key = keys[seq % len(keys)]
            headers = [("ce_type", b"referral.created"), ("seq", str(seq).encode())]
            meta = await producer.send_and_wait(topic, f"v{seq}".encode(), key=key, headers=headers)
            sent[seq] = (key, meta.partition)
    finally:
        await producer.stop()

    consumer = make_consumer(
        settings, topic, group_id=_name("group"), **group_timings(kafka_engine)
    )
    await consumer.start()
    try:
        records = await _drain(consumer, 12)
    finally:
        await consumer.stop()

    assert len(records) == 12
    for record in records:
        received = dict(record.headers)
        seq = int(received["seq"])
        assert received["ce_type"] == b"referral.created"
        assert record.value == f"v{seq}".encode()
        assert (record.key, record.partition) == sent[seq]
    for key in keys:
        same_key = [r for r in records if r.key == key]
        assert len({r.partition for r in same_key}) == 1
        seqs = [int(dict(r.headers)["seq"]) for r in sorted(same_key, key=lambda r: r.offset)]
        assert seqs == sorted(seqs)


@pytest.mark.integration
async def test_committed_offset_is_honoured_by_next_group_member(
    kafka_bootstrap: str, kafka_engine: str
) -> None:
    """A new consumer in the group resumes at the explicitly committed offset, not the end."""
    topic, group = _name("commit"), _name("group")
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    settings = _settings(kafka_bootstrap, kafka_engine)
    await _produce(settings, topic, [f"m{n}".encode() for n in range(5)])
    partition = TopicPartition(topic, 0)

    first = make_consumer(settings, topic, group_id=group, **group_timings(kafka_engine))
    await first.start()
    try:
        assert len(await _drain(first, 5)) == 5
        await first.commit({partition: 3})  # only m0..m2 count as processed
    finally:
        await first.stop()

    second = make_consumer(settings, topic, group_id=group, **group_timings(kafka_engine))
    await second.start()
    try:
        resumed = await _drain(second, 2)
        assert await second.committed(partition) == 3
    finally:
        await second.stop()

    assert [(r.offset, r.value) for r in resumed] == [(3, b"m3"), (4, b"m4")]


@pytest.mark.integration
async def test_tansu_rejects_idempotent_producer(tansu_bootstrap: str) -> None:
    """Tansu answers aiokafka's InitProducerId v0 with an error, so idempotence must stay off."""
    producer = make_producer(KafkaSettings(tansu_bootstrap, idempotent_producer=True))
    try:
        with pytest.raises(KafkaError, match="UnknownError"):
            await producer.start()
    finally:
        await producer.stop()


@pytest.mark.integration
async def test_apache_kafka_gives_the_idempotent_producer_an_id(apache_kafka: ApacheKafka) -> None:
    """On Apache Kafka the hub's producer is idempotent: the broker assigns it a producer id."""
    topic = _name("idempotent")
    await ensure_topics(apache_kafka.bootstrap_servers, [TopicSpec(topic, 1)])
    settings = _settings(apache_kafka.bootstrap_servers, "apache")
    assert settings.idempotent_producer
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"once")
        # aiokafka keeps the id the broker granted in its (private) transaction manager.
        manager = producer._txn_manager
        assert manager is not None, "the producer was built without idempotence"
        assert manager.producer_id >= 0
    finally:
        await producer.stop()


@pytest.mark.integration
async def test_wait_until_ready_returns_for_live_broker(kafka_bootstrap: str) -> None:
    """wait_until_ready returns promptly once the broker answers Metadata."""
    await wait_until_ready(kafka_bootstrap, timeout_s=5)


async def test_ping_is_false_when_nothing_listens() -> None:
    """ping reports False, without raising, when no broker listens."""
    assert not await ping(f"127.0.0.1:{_closed_port()}", timeout_s=0.5)


async def test_wait_until_ready_times_out_with_broker_error() -> None:
    """wait_until_ready raises BrokerError naming the address when no broker appears in time."""
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(BrokerError, match=address):
        await wait_until_ready(address, timeout_s=0.5)
