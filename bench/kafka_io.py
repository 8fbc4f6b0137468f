"""Publishing benchmark records: as fast as acknowledgements allow, or paced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from hub.contracts import KafkaRecord

__all__ = ["send_all", "send_paced"]

# The hub's own publisher sends a batch and then waits for every ack; sending
# in chunks of the router's batch size keeps the bench producer the same shape.
_CHUNK = 500


async def send_all(producer: Any, topic: str, records: Sequence[KafkaRecord]) -> None:
    """Send every record, waiting for the acknowledgements of each chunk."""
    for start in range(0, len(records), _CHUNK):
        pending = [
            await producer.send(topic, r.value, key=r.key, headers=list(r.headers))
            for r in records[start : start + _CHUNK]
        ]
        await asyncio.gather(*pending)


async def send_paced(
    producer: Any, topic: str, records: Sequence[KafkaRecord], rate: float
) -> list[float]:
    """Send record ``i`` at ``start + i / rate``; returns each one's wall-clock send time.

    Send times are wall-clock (``time.time``) because they are compared with
    timestamps taken in another process. A sender that falls behind catches
    up in a burst rather than lowering the offered load.
    """
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []
    pending: list[asyncio.Future[Any]] = []
    start = loop.time()
    index = 0
    while index < len(records):
        due = min(len(records), int((loop.time() - start) * rate) + 1)
        while index < due:
            record = records[index]
            sent_at.append(time.time())
            pending.append(
                await producer.send(
                    topic, record.value, key=record.key, headers=list(record.headers)
                )
            )
            index += 1
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
    await asyncio.gather(*pending)
    return sent_at
