"""Batch subscribers: how every hub consumer reads Kafka through FastStream.

A handler gets a whole batch of raw records and returns only once their
effects are durable; only then is the batch's offset committed. A handler
that raises leaves the offset where it was, so the batch is read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy

from hub.consumers.isolation import BatchHandler
from hub.consumers.records import incoming
from hub.errors import HubError
from hub.observability import get_logger

__all__ = ["BatchHandler", "subscribe_batches"]

_log = get_logger(__name__)

#: How long a failed batch waits before it is read again.
_RETRY_PAUSE_S = 1.0


def subscribe_batches(
    broker: KafkaBroker,
    topics: Sequence[str],
    group_id: str,
    handle: BatchHandler,
    *,
    session_timeout_ms: int,
    max_records: int = 500,
) -> None:
    """Have ``handle`` consume ``topics`` in batches of up to ``max_records``, as ``group_id``."""

    async def consume(msg: KafkaMessage) -> None:
        records = [incoming(record) for record in msg.raw_message]
        try:
            await handle(records)
        except HubError as exc:
            # Store or broker trouble: rewind so the same batch is tried again.
            _log.warning("batch failed; retrying", consumer=group_id, error=str(exc))
            await msg.nack()
            await asyncio.sleep(_RETRY_PAUSE_S)
            return
        except Exception as exc:
            # A bug must not drop a batch: rewind it, as for an outage.
            _log.error(
                "batch failed unexpectedly; retrying",
                consumer=group_id,
                error_type=type(exc).__name__,
            )
            await msg.nack()
            await asyncio.sleep(_RETRY_PAUSE_S)
            return
        await msg.ack()

    consume.__name__ = f"consume_{group_id.replace('-', '_').replace('.', '_')}"
    broker.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        max_poll_interval_ms=900_000,
        # aiokafka's default makes the broker hold each fetch up to 500 ms when
        # little is flowing: a tenth of a second per hop for nothing.
        fetch_max_wait_ms=10,
        # A short wait for the first records of a batch: latency over idle polling.
        batch_timeout_ms=5,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_records,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(250, session_timeout_ms // 4),
    )(consume)


def _raw_records(message: StreamMessage[Any]) -> None:
    # The handlers read the raw records and parse each envelope themselves;
    # FastStream's default would first decode every value as JSON for nothing.
    return None
