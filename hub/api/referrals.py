"""``GET /v1/referrals/{id}``: status and timeline, to the parties it reached, as they saw it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from hub.api.context import Caller, Hub
from hub.api.problems import ProblemError
from hub.store import visibility

__all__ = ["router"]

router = APIRouter(tags=["referrals"])


@router.get("/v1/referrals/{referral_id}", summary="A referral's status and timeline")
async def get_referral(referral_id: str, hub: Hub, caller: Caller) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        with hub.store.transaction() as conn:
            row = visibility.referral_seen_by(conn, referral_id, caller)
            if row is None:
                return None
            timeline = visibility.timeline_seen_by(conn, referral_id, caller)
        return {
            "referral_id": row.referral_id,
            "from_agency": row.from_agency,
            "to_agency": row.to_agency,
            "service": row.service,
            "priority": row.priority,
            "status": row.status,
            "consent_id": row.consent_id,
            "due_by": row.due_by.isoformat() if row.due_by else None,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "timeline": [
                {
                    "event_id": entry.event_id,
                    "type": entry.event_type,
                    "status": entry.status,
                    "actor": entry.actor,
                    "at": entry.at.isoformat(),
                    "detail": entry.detail,
                }
                for entry in timeline
            ],
        }

    found = await asyncio.to_thread(read)
    if found is None:
        # Not a party, a recipient it never reached, and unknown look alike: ids
        # cannot be probed, and a blocked recipient learns nothing of her referral.
        raise ProblemError(404, "Not found", f"no referral {referral_id} visible to {caller}")
    return found
