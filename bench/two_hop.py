"""A bound on figure 2: the hub's two Kafka hops with no work in between.

The hub reads ``hub.ingress``, publishes each copy to an agency inbox topic,
and reads that topic again before it delivers. This measures those hops
alone, through the hub's own code for them: batch subscribers from
:mod:`hub.runtime.subscribers` (FastStream, the same fetch, batch and ack
settings as the router and the delivery workers) and the hub's
:class:`~hub.runtime.publisher.KafkaPublisher`. The first subscriber
republishes every record unread, the second counts them. No parsing, no
store, no audit: whatever the hub delivers below this rate is its own work,
and ``hub_pipeline_per_s`` cannot rise above it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from faststream.kafka import KafkaBroker

from bench.kafka_io import send_all
from bench.workload import INGRESS_PARTITIONS
from hub.broker import KafkaSettings, TopicSpec, ensure_topics, make_producer
from hub.consumers.records import IncomingRecord, OutgoingMessage
from hub.contracts import KafkaRecord
from hub.runtime.publisher import KafkaPublisher
from hub.runtime.subscribers import subscribe_batches

__all__ = ["two_hop_floor"]

_INGRESS, _INBOX = "bench.floor.ingress", "bench.floor.inbox"
_INBOX_PARTITIONS = 2  # the hub's default per agency inbox
_SESSION_TIMEOUT_MS = 2_000  # the hub's on the embedded broker
_WARMUP = 500
_TIMEOUT_S = 180.0


class _Counter:
    def __init__(self) -> None:
        self.seen = 0
        self._target = 0
        self._reached = asyncio.Event()

    def expect(self, count: int) -> asyncio.Event:
        self._target = count
        self._reached = asyncio.Event()
        if self.seen >= count:
            self._reached.set()
        return self._reached

    async def handle(self, records: Sequence[IncomingRecord]) -> None:
        self.seen += len(records)
        if self.seen >= self._target:
            self._reached.set()


async def two_hop_floor(bootstrap: str, records: Sequence[KafkaRecord]) -> float:
    """Records per second from the first send until the second hop has read the last."""
    await ensure_topics(
        bootstrap, [TopicSpec(_INGRESS, INGRESS_PARTITIONS), TopicSpec(_INBOX, _INBOX_PARTITIONS)]
    )
    settings = KafkaSettings(bootstrap_servers=bootstrap, idempotent_producer=False)
    sender, republisher = make_producer(settings), make_producer(settings)
    publisher = KafkaPublisher(republisher)
    counter = _Counter()

    async def route(batch: Sequence[IncomingRecord]) -> None:
        await publisher.publish(
            [OutgoingMessage(_INBOX, r.key or b"", r.value or b"", r.headers) for r in batch]
        )

    broker = KafkaBroker(bootstrap, logger=logging.getLogger("bench.faststream"))
    for topic, group, handle in ((_INGRESS, "route", route), (_INBOX, "count", counter.handle)):
        subscribe_batches(
            broker, [topic], f"bench-floor-{group}", handle, session_timeout_ms=_SESSION_TIMEOUT_MS
        )
    await sender.start()
    await republisher.start()
    await broker.start()
    try:
        warmup, timed = records[:_WARMUP], records[_WARMUP:]
        # Both groups have joined once the warm-up has made both hops.
        reached = counter.expect(len(warmup))
        await send_all(sender, _INGRESS, warmup)
        await asyncio.wait_for(reached.wait(), _TIMEOUT_S)
        reached = counter.expect(len(records))
        start = time.perf_counter()
        await send_all(sender, _INGRESS, timed)
        await asyncio.wait_for(reached.wait(), _TIMEOUT_S)
        return len(timed) / (time.perf_counter() - start)
    finally:
        await broker.stop()
        await republisher.stop()
        await sender.stop()
