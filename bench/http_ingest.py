"""Figure 3: ``POST /v1/events`` against the running hub.

``concurrency`` requests stay in flight over keep-alive connections. Every
request carries a new referral and is answered 202 only once the event is
committed to the outbox. A 503 (the store was busy for longer than the hub
waits) is retried as a client would, and counted. The hub's relay, router and delivery worker keep
running meanwhile, as they would in production, and share its CPU.

The connections are spread over several httpx clients: one httpx pool slows
down as it holds more concurrent requests (on the bench machine one client
with 32 in flight peaks near 400 requests/s against a server that answers at
once, four clients with 8 each near 1,000/s), and the figure should measure
the hub, not the client's pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from bench.workload import SENDER_TOKEN
from hub.contracts import CloudEvent

__all__ = ["Ingest", "http_ingest", "post_all"]

_HEADERS = {
    "authorization": f"Bearer {SENDER_TOKEN}",
    "content-type": "application/cloudevents+json",
}
_PER_CLIENT = 8
_RETRY_AFTER_S = 0.1


@dataclass
class Ingest:
    per_s: float = 0.0
    #: 503 answers retried during the timed part.
    retried: int = 0


async def http_ingest(base_url: str, events: list[CloudEvent], concurrency: int) -> Ingest:
    """Accepted events per second; raises on any answer but 202 or 503."""
    bodies = [event.to_json() for event in events]
    # Opening every connection is not part of what is timed.
    warm, timed = bodies[:concurrency], bodies[concurrency:]
    return await post_all(base_url, warm, timed, concurrency)


async def post_all(
    base_url: str, warm: list[bytes], timed: list[bytes], concurrency: int
) -> Ingest:
    """POST ``warm`` untimed, then ``timed``; requests per second of the timed part."""
    sizes = [_PER_CLIENT] * (concurrency // _PER_CLIENT)
    if concurrency % _PER_CLIENT:
        sizes.append(concurrency % _PER_CLIENT)
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=60.0,
        )
        for size in sizes
    ]
    try:
        await _post(clients, sizes, iter(warm), Ingest())
        found = Ingest()
        start = time.perf_counter()
        await _post(clients, sizes, iter(timed), found)
        found.per_s = len(timed) / (time.perf_counter() - start)
        return found
    finally:
        for client in clients:
            await client.aclose()


async def _post(
    clients: list[httpx.AsyncClient], sizes: list[int], bodies: Iterator[bytes], found: Ingest
) -> None:
    async def worker(client: httpx.AsyncClient) -> None:
        # Workers share one iterator, so each body is posted exactly once.
        for body in bodies:
            while True:
                response = await client.post("/v1/events", content=body, headers=_HEADERS)
                if response.status_code == 202:
                    break
                if response.status_code != 503:
                    raise RuntimeError(
                        f"POST /v1/events answered {response.status_code}: {response.text[:300]}"
                    )
                found.retried += 1
                await asyncio.sleep(_RETRY_AFTER_S)

    await asyncio.gather(
        *(worker(client) for client, size in zip(clients, sizes, strict=True) for _ in range(size))
    )
