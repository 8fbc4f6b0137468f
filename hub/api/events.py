"""``POST /v1/events``: submit one structured CloudEvent."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hub.api.context import Caller, Hub
from hub.api.problems import ProblemError
from hub.api.refusals import note_refusal
from hub.contracts import MAX_EVENT_BYTES, CloudEvent, parse_structured
from hub.errors import HubError
from hub.services.intake import accept_event, vet

__all__ = ["router"]

router = APIRouter(tags=["events"])

_ACCEPTED_TYPES = ("application/cloudevents+json", "application/json")


@router.post(
    "/v1/events",
    status_code=202,
    summary="Submit one event (structured CloudEvent)",
    responses={
        202: {"description": "Accepted: committed to the outbox."},
        400: {"description": "Unknown event type or version."},
        401: {"description": "No or invalid bearer token."},
        403: {"description": "The event's source is not the caller."},
        409: {"description": "The event id was accepted before with other content."},
        410: {"description": "The event's subject has been erased."},
        413: {"description": "The body exceeds 1 MiB."},
        415: {"description": "Not a structured CloudEvent JSON body."},
        422: {"description": "Invalid envelope or payload; names the fields."},
        503: {"description": "The store is unavailable; retry later."},
    },
)
async def submit_event(request: Request, hub: Hub, caller: Caller) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_TYPES:
        raise ProblemError(
            415,
            "Unsupported media type",
            f"send a structured CloudEvent as {' or '.join(_ACCEPTED_TYPES)}",
        )
    body = await _read_limited(request)
    event: CloudEvent | None = None
    try:
        event = parse_structured(body)
        if hub.intake is not None:
            payload = vet(hub.registry, event, caller)
            acceptance = await hub.intake.accept(event, payload, caller)
        else:
            acceptance = await asyncio.to_thread(
                accept_event,
                hub.store,
                hub.registry,
                event,
                sender=caller,
                now=hub.clock(),
                audit=hub.audit,
            )
    except HubError as exc:
        await asyncio.to_thread(note_refusal, hub, caller, exc, event)
        raise
    if acceptance.created:
        hub.metrics.accepted.labels(event.type).inc()
        hub.on_accepted()
    return JSONResponse(
        {
            "id": acceptance.event_id,
            "type": acceptance.event_type,
            "version": acceptance.version,
            "status": "accepted",
        },
        status_code=202,
    )


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        raise ProblemError(413, "Payload too large", f"the limit is {MAX_EVENT_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_EVENT_BYTES:
            raise ProblemError(413, "Payload too large", f"the limit is {MAX_EVENT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
