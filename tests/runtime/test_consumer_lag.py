"""Consumer lag by group and partition, read from a real broker."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import TopicPartition
from prometheus_client import generate_latest

from hub.broker import KafkaSettings, TopicSpec, ensure_topics, make_consumer, make_producer
from hub.observability import HubMetrics
from hub.runtime.consumer_lag import read_lag
from tests.support import group_timings, kafka_client_settings


@pytest.mark.integration
async def test_lag_is_the_records_a_group_has_not_committed(
    kafka_bootstrap: str, kafka_engine: str
) -> None:
    """A group that committed 2 of 5 records shows a lag of 3 on that partition."""
    topic, group = f"test.lag.{uuid.uuid4().hex[:12]}", f"lag-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    idempotent = bool(kafka_client_settings(kafka_engine)["kafka_idempotent_producer"])
    settings = KafkaSettings(kafka_bootstrap, idempotent_producer=idempotent)
    producer = make_producer(settings)
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, f"m{n}".encode())
    finally:
        await producer.stop()
    consumer = make_consumer(settings, topic, group_id=group, **group_timings(kafka_engine))
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=2000)
        await consumer.commit({TopicPartition(topic, 0): 2})
    finally:
        await consumer.stop()

    lag = await read_lag(settings, {group: [topic]})
    metrics = HubMetrics.create()
    for (g, t, p), value in lag.items():
        metrics.consumer_lag.labels(g, t, str(p)).set(value)

    assert lag == {(group, topic, 0): 3}
    assert f'hub_consumer_lag{{group="{group}",partition="0",topic="{topic}"}} 3.0' in (
        generate_latest(metrics.registry).decode()
    )
