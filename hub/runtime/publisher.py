"""Publishing over aiokafka: send a batch, then wait for every acknowledgement."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import KafkaError

from hub.consumers.records import OutgoingMessage
from hub.errors import BrokerError

__all__ = ["KafkaPublisher"]


class KafkaPublisher:
    """A :class:`hub.consumers.records.Publisher` over a started ``AIOKafkaProducer``."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        try:
            pending = [
                await self._producer.send(
                    message.topic,
                    message.value,
                    key=message.key,
                    headers=list(message.headers),
                )
                for message in messages
            ]
            await asyncio.gather(*pending)
        except KafkaError as exc:
            raise BrokerError(f"publishing failed: {type(exc).__name__}: {exc}") from exc
