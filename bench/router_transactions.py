"""Does a Kafka transaction around the router's consume→publish hop pay for itself?

Measures, on Apache Kafka, the hop the router makes for each batch: read a batch
from an input topic, publish one copy of every record to an output topic, wait for
the acknowledgements, commit the input offsets. Two ways:

- ``plain``: the idempotent producer, acks=all, then an offset commit (the hub today);
- ``transactional``: begin, publish, ``send_offsets_to_transaction``, commit; the
  reader of the output uses ``isolation_level=read_committed``.

Reported per mode and batch size: records per second and the median batch time.
Run: ``python -m bench.router_transactions BOOTSTRAP [--records N]``.

Measured on a single-node Apache Kafka 4.1.1 (``make kafka-up``), 2 shared cores,
10,000 records of 1 KiB: batches of up to 500, plain 11,263 records/s (median
batch 29 ms), transactional 4,175 records/s (104 ms); batches of up to 10, 722
against 553 records/s (12.4 ms each). The router keeps the plain hop: the
transaction cannot take in the store commit that sits between publishing and the
offset commit, so it would not replace the store's de-duplication, only slow it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from hub.broker import KafkaSettings, TopicSpec, ensure_topics, make_consumer, make_producer

_PARTITIONS = 6
_VALUE = b"x" * 1024


async def _fill(bootstrap: str, topic: str, records: int) -> None:
    producer = make_producer(KafkaSettings(bootstrap, idempotent_producer=True))
    await producer.start()
    try:
        sends = [
            await producer.send(topic, _VALUE, key=f"referral-{n % 500}".encode())
            for n in range(records)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def _transactional_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        transactional_id=f"bench-router-{uuid.uuid4().hex[:8]}",
    )


async def _hop(bootstrap: str, records: int, batch: int, transactional: bool) -> dict[str, Any]:
    source, sink = f"bench.tx.in.{uuid.uuid4().hex[:8]}", f"bench.tx.out.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [TopicSpec(source, _PARTITIONS), TopicSpec(sink, _PARTITIONS)])
    await _fill(bootstrap, source, records)
    settings = KafkaSettings(bootstrap, idempotent_producer=True)
    group = f"bench-tx-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(
        settings, source, group_id=group, session_timeout_ms=6000, heartbeat_interval_ms=1500
    )
    producer = _transactional_producer(bootstrap) if transactional else make_producer(settings)
    await producer.start()
    await consumer.start()
    durations: list[float] = []
    done = 0
    started = time.perf_counter()
    try:
        while done < records:
            polled = await consumer.getmany(timeout_ms=200, max_records=batch)
            if not polled:
                continue
            began = time.perf_counter()
            offsets = {tp: rows[-1].offset + 1 for tp, rows in polled.items()}
            if transactional:
                async with producer.transaction():
                    sends = [
                        await producer.send(sink, r.value, key=r.key)
                        for rows in polled.values()
                        for r in rows
                    ]
                    await asyncio.gather(*sends)
                    await producer.send_offsets_to_transaction(offsets, group)
            else:
                sends = [
                    await producer.send(sink, r.value, key=r.key)
                    for rows in polled.values()
                    for r in rows
                ]
                await asyncio.gather(*sends)
                await consumer.commit(offsets)
            durations.append(time.perf_counter() - began)
            done += sum(len(rows) for rows in polled.values())
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()
    await _check_sink(bootstrap, sink, records, transactional)
    return {
        "mode": "transactional" if transactional else "plain",
        "max_batch": batch,
        "records": done,
        "records_per_s": round(done / elapsed, 1),
        "median_batch_ms": round(1000 * statistics.median(durations), 2),
    }


async def _check_sink(bootstrap: str, sink: str, records: int, transactional: bool) -> None:
    """The output holds every record once: the measurement moved what it claims."""
    consumer = make_consumer(
        KafkaSettings(bootstrap, idempotent_producer=True),
        group_id=f"bench-tx-check-{uuid.uuid4().hex[:8]}",
        isolation_level="read_committed" if transactional else "read_uncommitted",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(sink, p) for p in range(_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        deadline = time.monotonic() + 30
        while seen < records and time.monotonic() < deadline:
            polled = await consumer.getmany(timeout_ms=500)
            seen += sum(len(rows) for rows in polled.values())
        if seen != records:
            raise SystemExit(f"{sink}: {seen} records, expected {records}")
    finally:
        await consumer.stop()


async def _main(bootstrap: str, records: int) -> None:
    for batch in (500, 10, 1):
        count = records if batch > 1 else min(records, 1000)
        for transactional in (False, True):
            print(json.dumps(await _hop(bootstrap, count, batch, transactional)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("--records", type=int, default=20_000)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.bootstrap, arguments.records))
