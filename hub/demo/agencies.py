"""Simulated agency systems: each keeps its own record of what it received.

The demo's loss and duplicate figures are counted from these records, never
from the hub's own counters: a pull agency reads and acknowledges its inbox
over the API; a webhook agency runs an HTTP endpoint that checks the hub's
signature before accepting a delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.adapters.fhir.mapping import EVENT_TYPE_SYSTEM, REFERRAL_SYSTEM
from hub.contracts import CloudEvent
from hub.contracts._uris import dataschema_uri
from hub.contracts.envelope import envelope_from_mapping
from hub.delivery.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

__all__ = ["AgencySystem", "webhook_receiver"]

OnEvent = Callable[["AgencySystem", CloudEvent], Awaitable[None]]


@dataclass
class AgencySystem:
    """One agency's own system, as the demo simulates it."""

    agency_id: str
    kind: str
    token: str
    #: Receives FHIR Bundles: what it records is what a FHIR server can read back.
    speaks_fhir: bool = False
    received: dict[str, CloudEvent] = field(default_factory=dict)
    receipts: Counter[str] = field(default_factory=Counter)
    rejected_signatures: int = 0

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.receipts.values() if count > 1)

    def record(self, event: CloudEvent) -> bool:
        """Keep the event; True when it is new to this agency."""
        self.receipts[event.id] += 1
        if event.id in self.received:
            return False
        self.received[event.id] = event
        return True

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def poll_inbox(
    agency: AgencySystem,
    client: httpx.AsyncClient,
    on_event: OnEvent,
    stop: asyncio.Event,
    interval_s: float = 0.05,
) -> None:
    """Read the inbox, record and acknowledge each event, until ``stop``."""
    after = 0
    while not stop.is_set():
        response = await client.get(
            "/v1/inbox", params={"after": after, "limit": 200}, headers=agency.auth
        )
        response.raise_for_status()
        page = response.json()
        for item in page["events"]:
            if "event" in item:
                event = envelope_from_mapping(item["event"])
                if agency.record(event):
                    await on_event(agency, event)
            event_id = item["event"]["id"] if "event" in item else item["event_id"]
            ack = await client.post(f"/v1/inbox/{event_id}/ack", headers=agency.auth)
            ack.raise_for_status()
        after = page["next_after"]
        if not page["events"]:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


def bundle_event(bundle: dict[str, Any]) -> CloudEvent:
    """What a hospital's FHIR server keeps of a delivered Bundle, as a canonical event.

    The hub names the event (``Bundle.identifier``) and its type (``meta.tag``);
    the referral and its status are read from the Task, as a FHIR server would.
    """
    event_id = bundle["identifier"]["value"]
    event_type = next(
        tag["code"] for tag in bundle["meta"]["tag"] if tag["system"] == EVENT_TYPE_SYSTEM
    )
    subject, data = event_id, {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        if resource.get("resourceType") == "Task":
            for identifier in resource.get("identifier", []):
                if identifier.get("system") == REFERRAL_SYSTEM:
                    subject = identifier["value"]
            data = {"status": resource.get("status")}
        elif resource.get("resourceType") == "Communication":
            # R4 codes the reason in reasonCode, R5 in reason[].concept.
            reasons = resource.get("reasonCode") or [
                item.get("concept", {}) for item in resource.get("reason", [])
            ]
            codes = [coding["code"] for reason in reasons for coding in reason.get("coding", [])]
            data = {"reason": codes[0]} if codes else {}
    return CloudEvent(
        specversion="1.0",
        id=event_id,
        source="referral-hub",
        type=event_type,
        time=datetime.now(UTC),
        subject=subject,
        dataschema=dataschema_uri(event_type, 1),
        data=data,
    )


@contextlib.asynccontextmanager
async def webhook_receiver(
    agencies: dict[str, AgencySystem],
    secrets: dict[str, str],
    on_event: OnEvent,
) -> AsyncIterator[str]:
    """An HTTP server for the webhook agencies; yields its base URL."""

    async def receive(request: Request) -> JSONResponse:
        agency = agencies.get(request.path_params["agency_id"])
        if agency is None:
            return JSONResponse({"error": "unknown agency"}, status_code=404)
        body = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not verify(secrets[agency.agency_id], timestamp, body, signature):
            agency.rejected_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = envelope_from_mapping(json.loads(body))
        if agency.record(event):
            await on_event(agency, event)
        return JSONResponse({"received": event.id})

    async def receive_fhir(request: Request) -> JSONResponse:
        agency = agencies.get(request.path_params["agency_id"])
        if agency is None:
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=404)
        event = bundle_event(json.loads(await request.body()))
        if agency.record(event):
            await on_event(agency, event)
        return JSONResponse(
            {"resourceType": "Bundle", "type": "transaction-response", "entry": []},
            media_type="application/fhir+json",
        )

    app = Starlette(
        routes=[
            Route("/hooks/{agency_id}", receive, methods=["POST"]),
            Route("/fhir/{agency_id}", receive_fhir, methods=["POST"]),
        ]
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve(), name="webhook-receiver")
    while not server.started:
        if task.done():
            raise RuntimeError("the demo's webhook receiver failed to start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
