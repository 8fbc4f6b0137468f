"""The referring agency: a steady stream of referrals, each retried until a hub accepts it.

A request that gets no answer (its hub process died, PostgreSQL restarted) is sent again with the
same event id to the next process: the hub keys events by (source, id), so a second acceptance is
the first one's answer, never a second event.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import httpx

from chaos.workload import Referral, Workload
from hub.contracts import CloudEvent

__all__ = ["Sender"]

_GIVE_UP_S = 300.0
#: Requests in flight at once. A client waits for answers rather than queueing without bound
#: while the hubs are slow (httpx's pool also slows down with thousands of queued requests).
_IN_FLIGHT = 32


@dataclass
class Sender:
    urls: list[str]
    token: str
    #: Event id -> the recipient it must reach, for every referral a hub answered 202.
    accepted: dict[str, str] = field(default_factory=dict)
    #: Event id -> the hub's answer, for referrals refused or never answered.
    refused: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def submit(self, client: httpx.AsyncClient, event: CloudEvent) -> int:
        """POST until a hub gives a final answer; its status (0: none within the time)."""
        deadline = time.monotonic() + _GIVE_UP_S
        body = event.to_json()
        while time.monotonic() < deadline:
            base = self.urls[next(self._turn) % len(self.urls)]
            try:
                response = await client.post(
                    f"{base}/v1/events",
                    content=body,
                    headers={
                        "authorization": f"Bearer {self.token}",
                        "content-type": "application/cloudevents+json",
                    },
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code < 500:
                return response.status_code
            self.retries += 1
            await asyncio.sleep(0.5)
        return 0

    async def send_referral(self, client: httpx.AsyncClient, referral: Referral) -> None:
        status = await self.submit(client, referral.event)
        if status == 202:
            self.accepted[referral.event.id] = referral.recipient
        else:
            self.refused[referral.event.id] = str(status)

    async def stream(self, workload: Workload, rate_per_s: float, stop: asyncio.Event) -> int:
        """Send referrals at ``rate_per_s`` until ``stop``; returns how many were sent."""
        pending: set[asyncio.Task[None]] = set()
        gate = asyncio.Semaphore(_IN_FLIGHT)

        async def send(referral: Referral) -> None:
            try:
                await self.send_referral(client, referral)
            finally:
                gate.release()

        limits = httpx.Limits(max_connections=_IN_FLIGHT, max_keepalive_connections=_IN_FLIGHT)
        async with httpx.AsyncClient(timeout=15.0, limits=limits) as client:
            started = time.monotonic()
            n = 0
            while not stop.is_set():
                await gate.acquire()
                task = asyncio.create_task(send(workload.referral(n)))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                # Behind schedule (slow answers), the next one goes at once, never in a burst.
                started = max(started, time.monotonic() - n / rate_per_s)
                await asyncio.sleep(max(0.0, started + n / rate_per_s - time.monotonic()))
            await asyncio.gather(*pending)
        return n
