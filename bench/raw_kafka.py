"""Figure 1: the bare aiokafka ceiling for this stack.

One process produces and consumes, as the hub does: the same producer
settings (``make_producer``: acks=all, 5 ms linger), a topic with the hub's
ingress partition count, the same binary-mode records keyed by referral id,
and a consumer group that fetches up to 500 records with a 20 ms wait (the
hub's subscriber settings) and commits after every batch. The consumer does
nothing else with a record: this is what the hub's two hops cannot beat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench.kafka_io import send_all
from bench.workload import INGRESS_PARTITIONS
from hub.broker import KafkaSettings, TopicSpec, ensure_topics, make_consumer, make_producer
from hub.contracts import KafkaRecord

__all__ = ["raw_passthrough"]

_TOPIC = "bench.raw"
_WARMUP = 500
_ASSIGN_TIMEOUT_S = 30.0


async def raw_passthrough(bootstrap: str, records: Sequence[KafkaRecord]) -> float:
    """Records per second from the first send to the commit of the last record."""
    await ensure_topics(bootstrap, [TopicSpec(_TOPIC, INGRESS_PARTITIONS)])
    settings = KafkaSettings(bootstrap_servers=bootstrap, idempotent_producer=False)
    producer = make_producer(settings)
    consumer = make_consumer(
        settings,
        _TOPIC,
        group_id="bench-raw",
        session_timeout_ms=2_000,
        heartbeat_interval_ms=500,
    )
    await producer.start()
    await consumer.start()
    try:
        await _assigned(consumer)
        warmup, timed = records[:_WARMUP], records[_WARMUP:]
        await send_all(producer, _TOPIC, warmup)
        await _consume(consumer, len(warmup))
        start = time.perf_counter()
        consuming = asyncio.create_task(_consume(consumer, len(timed)))
        await send_all(producer, _TOPIC, timed)
        await consuming
        return len(timed) / (time.perf_counter() - start)
    finally:
        await consumer.stop()
        await producer.stop()


async def _assigned(consumer: Any) -> None:
    async with asyncio.timeout(_ASSIGN_TIMEOUT_S):
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)


async def _consume(consumer: Any, count: int) -> None:
    seen = 0
    while seen < count:
        batch = await consumer.getmany(timeout_ms=20, max_records=500)
        got = sum(len(records) for records in batch.values())
        if got:
            await consumer.commit()
            seen += got
