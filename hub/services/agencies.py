"""Keeping the store's agency register in step with the configuration."""

from __future__ import annotations

from datetime import datetime

from hub.audit import AuditAction, AuditRecorder
from hub.config import AgencyConfig, HubSettings
from hub.store import Store
from hub.store import agencies as agency_store
from hub.store.agencies import AgencyRow

__all__ = ["sync_agencies"]


def sync_agencies(
    store: Store, settings: HubSettings, audit: AuditRecorder | None, now: datetime
) -> list[str]:
    """Register every configured agency; returns the ids that were new.

    Each agency added is an audit entry; secrets (tokens, webhook keys) are never
    copied into the register.
    """
    added: list[str] = []
    with store.transaction() as conn:
        for agency in settings.agencies:
            known = agency_store.get_agency(conn, agency.id) is not None
            agency_store.upsert_agency(conn, _row(agency, now))
            if known:
                continue
            added.append(agency.id)
            if audit is not None:
                audit.record(
                    conn,
                    action=AuditAction.AGENCY_ADDED,
                    actor=settings.hub_id,
                    at=now,
                    details={"agency": agency.id, "kind": agency.kind.value},
                )
    return added


def _row(agency: AgencyConfig, now: datetime) -> AgencyRow:
    delivery = agency.delivery.model_dump(mode="json", exclude={"secret", "bearer_token"})
    return AgencyRow(
        agency_id=agency.id,
        kind=agency.kind.value,
        region=agency.region,
        display_name=agency.name,
        delivery_mode=agency.delivery.mode,
        settings={"delivery": delivery, "services": [s.value for s in agency.services]},
        created_at=now,
        updated_at=now,
    )
