"""``GET /v1/consents/{id}``: scope, status and history, to the consent's parties."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from hub.api.context import ApiContext, Caller, Hub
from hub.api.problems import ProblemError
from hub.store import consents, disclosures

__all__ = ["router"]

router = APIRouter(tags=["consents"])


@router.get("/v1/consents/{consent_id}", summary="A consent's scope, status and history")
async def get_consent(consent_id: str, hub: Hub, caller: Caller) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        with hub.store.transaction() as conn:
            row = consents.get_consent(conn, consent_id)
            if row is None:
                return None
            parties = {row.recorded_by} | disclosures.recipients_under(conn, consent_id)
            if caller not in parties and not _named(row.scope, caller, _kind_of(hub, caller)):
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


def _kind_of(hub: ApiContext, agency_id: str) -> str | None:
    agency = hub.agencies.get(agency_id)
    return agency.kind.value if agency is not None else None


def _named(scope: list[dict[str, Any]], agency_id: str, kind: str | None) -> bool:
    """The consent names the agency itself, or every agency of its kind."""
    return any(
        entry.get("recipient_agency") == agency_id
        or (kind is not None and entry.get("recipient_kind") == kind)
        for entry in scope
    )
