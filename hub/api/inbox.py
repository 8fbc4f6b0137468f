"""The pull delivery mode: ``GET /v1/inbox`` and ``POST /v1/inbox/{event_id}/ack``.

An event is its source and id (ids are unique per source only): an
acknowledgement names the source when two events in the inbox share the id.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.context import Caller, Hub
from hub.api.problems import ProblemError
from hub.audit import AuditAction
from hub.services.envelopes import consent_of_envelope, referral_of_envelope
from hub.services.vault import unseal
from hub.store import inbox

__all__ = ["router"]

router = APIRouter(tags=["inbox"])

#: Inbox sequence numbers are 64-bit signed integers in every store.
_MAX_SEQ = 2**63 - 1


@router.get("/v1/inbox", summary="Events waiting for the calling agency")
async def list_inbox(
    hub: Hub,
    caller: Caller,
    after: Annotated[int, Query(ge=0, le=_MAX_SEQ, description="Cursor: the last seq seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    def read() -> tuple[list[dict[str, Any]], int]:
        with hub.store.transaction() as conn:
            rows = inbox.list_after(conn, caller, after_seq=after, limit=limit)
            items = [_item(row, unseal(conn, row.envelope)) for row in rows]
        return items, rows[-1].seq if rows else after

    items, next_after = await asyncio.to_thread(read)
    return {"events": items, "next_after": next_after}


def _item(row: inbox.InboxRow, envelope: dict[str, Any] | None) -> dict[str, Any]:
    if envelope is None:
        # Her data was erased after it reached this inbox: the id stays so the
        # agency can acknowledge it, the content is gone.
        return {"seq": row.seq, "event_id": row.event_id, "source": row.source, "erased": True}
    return {"seq": row.seq, "event": envelope}


@router.post("/v1/inbox/{event_id}/ack", summary="Acknowledge one event", status_code=200)
async def ack_inbox(
    event_id: str,
    hub: Hub,
    caller: Caller,
    source: Annotated[
        str | None,
        Query(max_length=256, description="The event's source, when two share the id."),
    ] = None,
) -> dict[str, Any]:
    def ack() -> bool:
        now = hub.clock()
        with hub.store.transaction() as conn:
            rows = [
                row
                for row in inbox.with_id(conn, caller, event_id)
                if source is None or row.source == source
            ]
            if not rows:
                return False
            if len(rows) > 1:
                # Both are in the caller's own inbox: naming them reveals nothing.
                sources = ", ".join(sorted(row.source for row in rows))
                raise ProblemError(
                    409,
                    "Ambiguous event id",
                    f"events from {sources} share the id {event_id}; name the one to "
                    "acknowledge with ?source=",
                )
            (row,) = rows
            first = row.acked_at is None
            inbox.ack(conn, caller, (row.source, event_id), now)
            if first and hub.audit is not None:
                hub.audit.record(
                    conn,
                    action=AuditAction.ACKNOWLEDGED,
                    actor=caller,
                    at=now,
                    event_id=event_id,
                    referral_id=referral_of_envelope(row.envelope),
                    consent_id=consent_of_envelope(row.envelope),
                    details={"recipient": caller},
                )
            return True

    if not await asyncio.to_thread(ack):
        raise ProblemError(404, "Not found", f"no event {event_id} in the inbox of {caller}")
    return {"id": event_id, "status": "acknowledged"}
