"""Topic names, TopicSpec validation and ensure_topics against a real broker."""

from __future__ import annotations

import socket
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hub.broker import (
    AUDIT,
    INGRESS,
    ROUTER_DLQ,
    TopicPolicy,
    TopicSpec,
    dlq_topic,
    ensure_topics,
    inbox_topic,
)
from hub.config import load_settings
from hub.contracts import AgencyKind
from hub.errors import BrokerError
from hub.runtime.bootstrap import topic_specs
from tests.apache_kafka import CLUSTER_BROKER_SETTINGS, ApacheKafka
from tests.support import agency

DAY_MS = 86_400_000


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


def test_policy_refuses_more_insync_replicas_than_replicas() -> None:
    """min.insync.replicas above the replication factor would refuse every write; it is an error."""
    with pytest.raises(ValueError, match="min_insync_replicas"):
        TopicPolicy(replication_factor=2, min_insync_replicas=3)


def test_hub_topics_take_replication_and_retention_from_settings() -> None:
    """Every hub topic gets the configured replicas; dead letters and audit their own retention."""
    settings = load_settings(
        None,
        kafka_bootstrap="kafka:9092",
        kafka_replication_factor=3,
        kafka_min_insync_replicas=2,
        kafka_dead_letter_retention_days=30,
        kafka_audit_retention_days=500,
        agencies=[agency(AgencyKind.COURT).config()],
    )
    specs = {spec.name: spec for spec in topic_specs(settings)}
    court = settings.agencies[0].id

    assert {spec.replication_factor for spec in specs.values()} == {3}
    assert {spec.configs["min.insync.replicas"] for spec in specs.values()} == {"2"}
    for name in (ROUTER_DLQ, dlq_topic(court)):
        assert specs[name].configs["retention.ms"] == str(30 * DAY_MS)
    assert specs[AUDIT].configs["retention.ms"] == str(500 * DAY_MS)
    assert specs[AUDIT].configs["cleanup.policy"] == "delete"
    assert "retention.ms" not in specs[INGRESS].configs
    assert "retention.ms" not in specs[inbox_topic(court)].configs


async def _topic_configs(bootstrap: str, name: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        await admin.close()
    # DescribeConfigs v1+: resources are (error, message, type, name, entries); an entry
    # starts (name, value, ...).
    entries = [entry for r in responses for res in r.resources for entry in res[4]]
    return {str(entry[0]): str(entry[1]) for entry in entries}


async def _replica_counts(bootstrap: str, name: str) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([name])
    finally:
        await admin.close()
    return {len(partition["replicas"]) for partition in described["partitions"]}


@pytest.mark.integration
async def test_cluster_topics_have_the_configured_replication_and_retention(
    apache_kafka_cluster: ApacheKafka,
) -> None:
    """On three Apache Kafka nodes, hub topics have 3 replicas, 2 in sync, and set retention."""
    bootstrap = apache_kafka_cluster.bootstrap_servers
    for node in (1, 2, 3):
        settings = apache_kafka_cluster.node_settings(node)
        assert {key: settings[key] for key in CLUSTER_BROKER_SETTINGS} == CLUSTER_BROKER_SETTINGS
    policy = TopicPolicy(
        replication_factor=3,
        min_insync_replicas=2,
        dead_letter_retention_days=30,
        audit_retention_days=500,
    )
    stream, dead, audit = _topic(), _topic(), _topic()
    await ensure_topics(
        bootstrap, [policy.stream(stream, 2), policy.dead_letters(dead), policy.audit(audit, 2)]
    )

    for name in (stream, dead, audit):
        assert await _replica_counts(bootstrap, name) == {3}
        assert (await _topic_configs(bootstrap, name))["min.insync.replicas"] == "2"
    dead_configs = await _topic_configs(bootstrap, dead)
    audit_configs = await _topic_configs(bootstrap, audit)
    assert dead_configs["retention.ms"] == str(30 * DAY_MS)
    assert (audit_configs["retention.ms"], audit_configs["cleanup.policy"]) == (
        str(500 * DAY_MS),
        "delete",
    )
