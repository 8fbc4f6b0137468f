"""The recipients' own systems: each counts every receipt of every event id.

Loss and duplicates are counted here, never from the hub's figures: a webhook recipient checks the
hub's signature and records the event; a pull recipient reads and acknowledges its inbox through
whichever hub process answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.delivery.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

__all__ = ["Recipient", "poll_inbox", "webhook_server"]


@dataclass
class Recipient:
    agency_id: str
    token: str = ""
    secret: str = ""
    #: HTTP status the webhook answers with, 200 when healthy.
    answer: int = 200
    #: Every time an event arrived, acknowledged or not.
    receipts: Counter[str] = field(default_factory=Counter)
    acknowledged: set[str] = field(default_factory=set)
    #: Arrivals of an event this recipient had already acknowledged: a second effect.
    duplicates: int = 0
    refused: int = 0
    bad_signatures: int = 0
    #: Inbox rows found behind the reader's cursor: committed after rows with a higher seq.
    behind_cursor: int = 0

    def arrived(self, event_id: str) -> None:
        self.receipts[event_id] += 1
        if event_id in self.acknowledged:
            self.duplicates += 1

    @property
    def redelivered_unacknowledged(self) -> int:
        """Arrivals again of events whose acknowledgement had not reached the hub."""
        return sum(self.receipts.values()) - len(self.receipts) - self.duplicates


@contextlib.asynccontextmanager
async def webhook_server(recipients: dict[str, Recipient], port: int) -> AsyncIterator[str]:
    async def receive(request: Request) -> JSONResponse:
        recipient = recipients.get(request.path_params["agency_id"])
        if recipient is None:
            return JSONResponse({"error": "unknown agency"}, status_code=404)
        body = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not verify(recipient.secret, timestamp, body, signature):
            recipient.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if recipient.answer != 200:
            recipient.refused += 1
            return JSONResponse({"error": "unavailable"}, status_code=recipient.answer)
        event_id = json.loads(body)["id"]
        recipient.arrived(event_id)
        recipient.acknowledged.add(event_id)  # the 200 below is the acknowledgement
        return JSONResponse({"received": True})

    app = Starlette(routes=[Route("/hooks/{agency_id}", receive, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError("the recipients' webhook server did not start")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def poll_inbox(
    recipient: Recipient, urls: list[str], stop: asyncio.Event, interval_s: float = 0.2
) -> None:
    """Read, record and acknowledge, moving to the next hub process when one does not answer."""
    headers = {"authorization": f"Bearer {recipient.token}"}
    after, turn, furthest = 0, 0, 0
    async with httpx.AsyncClient(timeout=10.0, headers=headers) as client:
        while not stop.is_set():
            base = urls[turn % len(urls)]
            try:
                response = await client.get(
                    f"{base}/v1/inbox", params={"after": after, "limit": 200}
                )
                response.raise_for_status()
                page = response.json()
                for item in page["events"]:
                    event_id = item["event"]["id"] if "event" in item else item["event_id"]
                    if item["seq"] <= furthest and event_id not in recipient.receipts:
                        recipient.behind_cursor += 1
                    if "event" in item:
                        recipient.arrived(event_id)
                    ack = await client.post(f"{base}/v1/inbox/{event_id}/ack")
                    ack.raise_for_status()
                    recipient.acknowledged.add(event_id)
                after = page["next_after"]
                furthest = max(furthest, after)
                idle = not page["events"]
                if idle:
                    # Rows of several writers commit out of seq order: look behind the cursor.
                    after = 0
            except (httpx.HTTPError, KeyError, ValueError):
                # Whatever was read but not acknowledged comes back on the next read.
                turn += 1
                idle = True
            if idle:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
