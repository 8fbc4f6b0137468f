"""Consumer lag by group and partition, read from Kafka on a timer rather than per scrape.

Lag is a partition's end offset less the group's committed offset (all of the
partition when the group has committed nothing yet).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from hub.broker.kafka import KafkaSettings
from hub.broker.topics import INGRESS, inbox_topic, partitions_of
from hub.config import AgencyConfig
from hub.observability import HubMetrics, get_logger

__all__ = ["consumer_groups", "read_lag", "run_lag_refresh"]

_log = get_logger(__name__)


def consumer_groups(agencies: Sequence[AgencyConfig]) -> dict[str, list[str]]:
    """The hub's consumer groups and their topics, as ``hub.runtime.bootstrap`` subscribes them."""
    pulled = [inbox_topic(a.id) for a in agencies if a.delivery.mode == "pull"]
    found: dict[str, list[str]] = {"hub-router": [INGRESS]}
    if pulled:
        found["hub-delivery-pull"] = pulled
    for agency in agencies:
        if agency.delivery.mode != "pull":
            found[f"hub-delivery-{agency.id}"] = [inbox_topic(agency.id)]
    return found


async def read_lag(
    kafka: KafkaSettings, groups: Mapping[str, Sequence[str]]
) -> dict[tuple[str, str, int], int]:
    """``(group, topic, partition)`` to records not yet committed by the group.

    Committed offsets are fetched through a consumer of the group that never
    subscribes (so never joins or rebalances it): the admin client's group
    offsets request is not understood by every broker the hub runs on.
    """
    options = kafka.security.client_options()
    lag: dict[tuple[str, str, int], int] = {}
    for group, topics in groups.items():
        reader = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=group,
            enable_auto_commit=False,
            **options,
        )
        partitions = await partitions_of(
            kafka.bootstrap_servers, list(topics), security=kafka.security
        )
        await reader.start()
        try:
            ends = await reader.end_offsets(partitions) if partitions else {}
            for tp in partitions:
                committed = await reader.committed(tp)
                lag[(group, tp.topic, tp.partition)] = max(0, ends[tp] - (committed or 0))
        finally:
            await reader.stop()
    return lag


async def run_lag_refresh(
    kafka: KafkaSettings,
    groups: Mapping[str, Sequence[str]],
    metrics: HubMetrics,
    interval_s: float,
) -> None:
    """Refresh ``hub_consumer_lag`` every ``interval_s`` until cancelled; keep it on failure."""
    while True:
        try:
            lag = await read_lag(kafka, groups)
        except (KafkaError, OSError, ValueError) as exc:
            _log.warning("consumer lag not refreshed", error=str(exc))
        else:
            for (group, topic, partition), value in lag.items():
                metrics.consumer_lag.labels(group, topic, str(partition)).set(value)
        await asyncio.sleep(interval_s)
