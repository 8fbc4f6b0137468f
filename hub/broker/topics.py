"""Topic names and idempotent topic creation.

Referrals enter on :data:`INGRESS`, the router fans them out to one inbox per
agency, and anything that cannot be processed lands in a dead-letter topic.

Topics are created explicitly rather than left to broker auto-creation: Tansu
auto-creates a topic with 4 partitions on first produce, and the partition
count decides which keys share an ordering, so it must be chosen, not inherited.
The same holds for replication, ``min.insync.replicas`` and retention on Apache
Kafka: :class:`TopicPolicy` states them, and every topic is created with them.

``hub.audit`` is not compacted. Its records are keyed by audit chain, and each is
one link of that chain; compaction would keep only the newest link per chain and
leave the topic unable to show what happened. It is deleted by age instead, after
a retention long enough for an annual audit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from hub.broker.security import PLAINTEXT, KafkaSecurity
from hub.errors import BrokerError

__all__ = [
    "AUDIT",
    "INGRESS",
    "ROUTER_DLQ",
    "TopicPolicy",
    "TopicSpec",
    "dlq_topic",
    "ensure_topics",
    "inbox_topic",
]

INGRESS = "hub.ingress"
AUDIT = "hub.audit"
ROUTER_DLQ = "hub.ingress.dlq"

# Kafka's own rule; Tansu accepts any name, so the check has to happen here.
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_TOPIC_ALREADY_EXISTS = 36


def inbox_topic(agency_id: str) -> str:
    """The topic an agency reads its referrals from."""
    return _checked(f"agency.{agency_id}.inbox")


def dlq_topic(agency_id: str) -> str:
    """The dead-letter topic for messages that could not be delivered to an agency."""
    return _checked(f"agency.{agency_id}.dlq")


_DAY_MS = 86_400_000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = 1
    #: Topic-level settings passed to CreateTopics (``min.insync.replicas``, ``retention.ms``).
    configs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _checked(self.name)
        if self.partitions < 1:
            raise ValueError(f"topic {self.name!r}: partitions must be at least 1")
        if self.replication_factor < 1:
            raise ValueError(f"topic {self.name!r}: replication_factor must be at least 1")


@dataclass(frozen=True)
class TopicPolicy:
    """Replication and retention the hub gives its topics.

    With ``acks=all`` a write is acknowledged once ``min_insync_replicas`` copies
    hold it: 3 replicas and 2 in sync survive the loss of any one broker.
    """

    replication_factor: int = 1
    min_insync_replicas: int = 1
    dead_letter_retention_days: int = 400
    audit_retention_days: int = 400

    def __post_init__(self) -> None:
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ValueError(
                "min_insync_replicas must be between 1 and the replication factor "
                f"({self.replication_factor}), not {self.min_insync_replicas}"
            )

    def stream(self, name: str, partitions: int) -> TopicSpec:
        """A working topic (ingress, inboxes): the broker's own retention."""
        return TopicSpec(name, partitions, self.replication_factor, self._replicated())

    def dead_letters(self, name: str) -> TopicSpec:
        """A dead-letter topic: one partition, kept until operators have looked."""
        return TopicSpec(
            name,
            1,
            self.replication_factor,
            self._replicated() | _kept_for(self.dead_letter_retention_days),
        )

    def audit(self, name: str, partitions: int) -> TopicSpec:
        """The audit feed: deleted by age, never compacted (see the module docstring)."""
        return TopicSpec(
            name,
            partitions,
            self.replication_factor,
            self._replicated() | _kept_for(self.audit_retention_days),
        )

    def _replicated(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas)}


def _kept_for(days: int) -> dict[str, str]:
    return {"cleanup.policy": "delete", "retention.ms": str(days * _DAY_MS)}


async def ensure_topics(
    bootstrap_servers: str,
    specs: Sequence[TopicSpec],
    *,
    timeout_s: float = 30,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create the topics in ``specs`` that do not exist yet.

    Topics that already exist are accepted as they are, unless they have fewer
    partitions than asked for: the hub's per-key ordering is planned around the
    requested count, and Tansu cannot add partitions afterwards.
    """
    if not specs:
        return
    try:
        async with asyncio.timeout(timeout_s):
            await _ensure(bootstrap_servers, specs, timeout_s, security)
    except TimeoutError as exc:
        raise BrokerError(
            f"creating topics on {bootstrap_servers} timed out after {timeout_s:g}s"
        ) from exc
    except (KafkaError, OSError) as exc:
        raise BrokerError(f"creating topics on {bootstrap_servers} failed: {exc}") from exc


async def _ensure(
    bootstrap_servers: str, specs: Sequence[TopicSpec], timeout_s: float, security: KafkaSecurity
) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="referral-hub-admin",
        request_timeout_ms=int(timeout_s * 1000),
        **security.client_options(),
    )
    await admin.start()
    try:
        wanted = {spec.name: spec for spec in specs}
        existing = set(await admin.list_topics())
        missing = [spec for name, spec in wanted.items() if name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        s.name, s.partitions, s.replication_factor, topic_configs=dict(s.configs)
                    )
                    for s in missing
                ],
                timeout_ms=int(timeout_s * 1000),
            )
            _raise_for_errors(response)
        present = [name for name in wanted if name in existing]
        if present:
            _check_partitions(wanted, await admin.describe_topics(present))
    finally:
        await admin.close()


async def partitions_of(
    bootstrap_servers: str, topics: Sequence[str], *, security: KafkaSecurity = PLAINTEXT
) -> list[TopicPartition]:
    """Every partition of the ``topics`` that exist, as the cluster describes them now.

    Asked of the admin client, not read from a consumer's cached metadata, which
    on Apache Kafka does not yet hold the partitions of a topic it never joined.
    """
    if not topics:
        return []
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="referral-hub-admin",
        **security.client_options(),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        present = [topic for topic in topics if topic in existing]
        described = await admin.describe_topics(present) if present else []
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    )


def _raise_for_errors(response: Any) -> None:
    # A concurrent creator may win between list and create; that is still success.
    failures = [
        f"{topic}: error {code} {message or ''}".strip()
        for topic, code, message in response.topic_errors
        if code not in (0, _TOPIC_ALREADY_EXISTS)
    ]
    if failures:
        raise BrokerError("could not create topics: " + "; ".join(failures))


def _check_partitions(wanted: dict[str, TopicSpec], described: list[dict[str, Any]]) -> None:
    short = [
        f"{topic['topic']} has {len(topic['partitions'])}, "
        f"wants {wanted[topic['topic']].partitions}"
        for topic in described
        if len(topic["partitions"]) < wanted[topic["topic"]].partitions
    ]
    if short:
        raise BrokerError("existing topics have too few partitions: " + "; ".join(short))


def _checked(name: str) -> str:
    if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"invalid topic name {name!r}")
    return name
