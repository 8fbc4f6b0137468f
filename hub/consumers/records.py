"""Kafka records as plain values, so handlers are testable without a broker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hub.contracts import CloudEvent, to_kafka

__all__ = ["IncomingRecord", "OutgoingMessage", "Publisher", "incoming", "outgoing"]


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class Publisher(Protocol):
    """Publishes messages and returns once the broker has acknowledged every one."""

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None: ...


def incoming(record: Any) -> IncomingRecord:
    """From an aiokafka ``ConsumerRecord``."""
    return IncomingRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple(record.headers or ()),
    )


def outgoing(topic: str, event: CloudEvent, *extra_headers: tuple[str, bytes]) -> OutgoingMessage:
    """An event in Kafka binary content mode, keyed by its subject."""
    record = to_kafka(event)
    return OutgoingMessage(topic, record.key, record.value, record.headers + extra_headers)
