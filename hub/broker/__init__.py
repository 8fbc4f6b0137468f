"""The Kafka layer: topic names, client factories and an embedded broker."""

from hub.broker.embedded import BINARY_ENV_VAR, EmbeddedBroker, resolve_binary
from hub.broker.kafka import KafkaSettings, make_consumer, make_producer, ping, wait_until_ready
from hub.broker.topics import (
    AUDIT,
    INGRESS,
    ROUTER_DLQ,
    TopicPolicy,
    TopicSpec,
    dlq_topic,
    ensure_topics,
    inbox_topic,
)

__all__ = [
    "AUDIT",
    "BINARY_ENV_VAR",
    "INGRESS",
    "ROUTER_DLQ",
    "EmbeddedBroker",
    "KafkaSettings",
    "TopicPolicy",
    "TopicSpec",
    "dlq_topic",
    "ensure_topics",
    "inbox_topic",
    "make_consumer",
    "make_producer",
    "ping",
    "resolve_binary",
    "wait_until_ready",
]
