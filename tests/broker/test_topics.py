"""Topic names, TopicSpec validation and ensure_topics against a real broker."""

from __future__ import annotations

import socket
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from hub.broker import (
    AUDIT,
    INGRESS,
    ROUTER_DLQ,
    TopicSpec,
    dlq_topic,
    ensure_topics,
    inbox_topic,
)
from hub.errors import BrokerError


def _topic() -> str:
    return f"test.topics.{uuid.uuid4().hex[:12]}"


async def _partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


def test_topic_names() -> None:
    """The hub's fixed topics and per-agency topics have their documented names."""
    assert (INGRESS, AUDIT, ROUTER_DLQ) == ("hub.ingress", "hub.audit", "hub.ingress.dlq")
    assert inbox_topic("shelter-north") == "agency.shelter-north.inbox"
    assert dlq_topic("shelter-north") == "agency.shelter-north.dlq"


@pytest.mark.parametrize(
    ("name", "partitions", "replication"),
    [("ok", 0, 1), ("ok", 1, 0), ("bad name", 1, 1), ("", 1, 1), ("..", 1, 1)],
)
def test_topic_spec_rejects_what_kafka_would(name: str, partitions: int, replication: int) -> None:
    """TopicSpec refuses specs Kafka rejects but Tansu would silently accept."""
    with pytest.raises(ValueError, match=r"partitions|replication_factor|topic name"):
        TopicSpec(name, partitions, replication)


def test_agency_topic_rejects_invalid_id() -> None:
    """An agency id that cannot form a topic name is refused up front."""
    with pytest.raises(ValueError, match="invalid topic name"):
        inbox_topic("no/slashes")


@pytest.mark.integration
async def test_ensure_topics_creates_partitions_and_is_idempotent(kafka_bootstrap: str) -> None:
    """ensure_topics creates each topic with the asked partition count and tolerates re-runs."""
    wide, narrow = _topic(), _topic()
    specs = [TopicSpec(wide, 4), TopicSpec(narrow, 1)]

    await ensure_topics(kafka_bootstrap, specs)
    await ensure_topics(kafka_bootstrap, specs)

    assert await _partition_counts(kafka_bootstrap, [wide, narrow]) == {wide: 4, narrow: 1}


@pytest.mark.integration
async def test_ensure_topics_refuses_existing_topic_with_too_few_partitions(
    kafka_bootstrap: str,
) -> None:
    """An existing topic with fewer partitions than asked for is a BrokerError, not a pass."""
    name = _topic()
    await ensure_topics(kafka_bootstrap, [TopicSpec(name, 1)])

    with pytest.raises(BrokerError, match="too few partitions"):
        await ensure_topics(kafka_bootstrap, [TopicSpec(name, 3)])


async def test_ensure_topics_unreachable_broker_is_broker_error() -> None:
    """A broker that cannot be reached surfaces as BrokerError, not an aiokafka error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(BrokerError) as caught:
        await ensure_topics(f"127.0.0.1:{port}", [TopicSpec(_topic(), 1)], timeout_s=3)
    assert caught.value.__cause__ is not None
