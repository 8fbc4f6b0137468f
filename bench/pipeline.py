"""Figures 2 and 6: events through the running hub, from ``hub.ingress`` to an inbox.

Events are published straight to ``hub.ingress`` in binary mode, keyed by
referral id, their data sealed under the survivor's key, as the outbox relay
would (sealed before the clock starts); their consents are already in the
store. Each one passes the router (validation, consent, redaction, projection,
disclosure record), a second Kafka hop, and the pull-mode delivery worker,
and counts when its row in the court's ``inbox`` table is visible to a
reader (:class:`bench.inbox_watch.InboxWatcher`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench.hub_process import HubProcess
from bench.inbox_watch import InboxWatcher
from bench.kafka_io import send_all, send_paced
from bench.stats import percentile
from hub.broker import INGRESS
from hub.contracts import CloudEvent

__all__ = ["Latency", "deliver_all", "latency", "settle", "throughput"]


@dataclass(frozen=True)
class Latency:
    """Milliseconds from send to the reader seeing the row, and to ``delivered_at``."""

    seen_ms: dict[str, float]
    stamped_ms: dict[str, float]
    offered_per_s: float
    #: Deliveries per second over the phase: below the offered load, the hub is saturated.
    delivered_per_s: float
    delivered: int
    undelivered: int


async def deliver_all(
    hub: HubProcess,
    watcher: InboxWatcher,
    producer: Any,
    events: list[CloudEvent],
    timeout_s: float,
) -> None:
    """Send and wait until every event is delivered; the warm-up uses this."""
    target = watcher.count + len(events)
    await send_all(producer, INGRESS, hub.sealed(events))
    if not await watcher.wait_for(target, timeout_s, hub.alive):
        raise RuntimeError(f"the hub delivered {watcher.count} of {target} within {timeout_s:g}s")


async def settle(hub: HubProcess, watcher: InboxWatcher, total: int, timeout_s: float) -> None:
    """Wait until ``total`` events are delivered, so the next phase starts on an idle hub."""
    if not await watcher.wait_for(total, timeout_s, hub.alive):
        raise RuntimeError(
            f"the hub still had {total - watcher.count} events to deliver after {timeout_s:g}s"
        )


async def throughput(
    hub: HubProcess,
    watcher: InboxWatcher,
    producer: Any,
    events: list[CloudEvent],
    timeout_s: float,
) -> float:
    """Events per second from the first send until the last row is visible."""
    records = hub.sealed(events)
    target = watcher.count + len(events)
    start = time.time()
    await send_all(producer, INGRESS, records)
    if not await watcher.wait_for(target, timeout_s, hub.alive):
        raise RuntimeError(f"the hub delivered {watcher.count} of {target} within {timeout_s:g}s")
    last = max(_seen(watcher, event.id) for event in events)
    return len(events) / (last - start)


async def latency(
    hub: HubProcess,
    watcher: InboxWatcher,
    producer: Any,
    events: list[CloudEvent],
    rate: float,
    timeout_s: float,
) -> Latency:
    """Per-event latency at a fixed offered load; percentiles over the delivered ones."""
    records = hub.sealed(events)
    target = watcher.count + len(events)
    sent_at = await send_paced(producer, INGRESS, records, rate)
    await watcher.wait_for(target, timeout_s, hub.alive)
    seen: list[float] = []
    stamped: list[float] = []
    last_seen = sent_at[0]
    for event, sent in zip(events, sent_at, strict=True):
        sighting = watcher.sighting(event.id)
        if sighting is not None:
            seen.append((sighting.seen_at - sent) * 1000)
            stamped.append((sighting.delivered_at - sent) * 1000)
            last_seen = max(last_seen, sighting.seen_at)
    if not seen:
        raise RuntimeError("no event of the latency phase was delivered")
    return Latency(
        seen_ms=_percentiles(seen),
        stamped_ms=_percentiles(stamped),
        offered_per_s=len(events) / (sent_at[-1] - sent_at[0]) if len(sent_at) > 1 else rate,
        delivered_per_s=len(seen) / max(last_seen - sent_at[0], 1e-9),
        delivered=len(seen),
        undelivered=len(events) - len(seen),
    )


def _percentiles(samples: list[float]) -> dict[str, float]:
    return {f"p{q}": percentile(samples, q) for q in (50, 95, 99)} | {"max": max(samples)}


def _seen(watcher: InboxWatcher, event_id: str) -> float:
    sighting = watcher.sighting(event_id)
    if sighting is None:
        raise RuntimeError(f"event {event_id} was counted but not recorded")
    return sighting.seen_at
