"""``GET /v1/consents/{id}``: scope, status and history, to its recorder and its recipients."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from hub.api.context import Caller, Hub
from hub.api.problems import ProblemError
from hub.store import consents, visibility

__all__ = ["router"]

router = APIRouter(tags=["consents"])


@router.get("/v1/consents/{consent_id}", summary="A consent's scope, status and history")
async def get_consent(consent_id: str, hub: Hub, caller: Caller) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        with hub.store.transaction() as conn:
            row = visibility.consent_seen_by(conn, consent_id, caller)
            if row is None:
                return None
            history = consents.consent_history(conn, consent_id)
        now = hub.clock()
        expired = row.valid_until is not None and now >= row.valid_until
        return {
            "consent_id": row.consent_id,
            "recorded_by": row.recorded_by,
            "granted_by": row.granted_by,
            "status": "expired" if row.status == "active" and expired else row.status,
            "scope": row.scope,
            "valid_from": row.valid_from.isoformat(),
            "valid_until": row.valid_until.isoformat() if row.valid_until else None,
            "history": [
                {
                    "seq": version.seq,
                    "event_id": version.event_id,
                    "status": version.status,
                    "changed_at": version.changed_at.isoformat(),
                }
                for version in history
            ],
        }

    found = await asyncio.to_thread(read)
    if found is None:
        raise ProblemError(404, "Not found", f"no consent {consent_id} visible to {caller}")
    return found
