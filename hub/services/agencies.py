"""Keeping the store's agency register in step with the configuration."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

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

    Each agency added is an audit entry. Endpoints and their secrets (webhook
    URL and key, FHIR base URL and token) live only in the configuration and
    are never copied into the register, which keeps only the delivery mode; a
    register written by an earlier version is cleaned of them here.
    """
    added: list[str] = []
    with store.transaction() as conn:
        agency_store.lock_register(conn)
        _forget_endpoints(conn, now)
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


#: What the register keeps of an agency's delivery: how, never where or with which key.
_REGISTERED_DELIVERY_KEYS = frozenset({"mode", "fhir_version"})


def _registered_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in delivery.items() if k in _REGISTERED_DELIVERY_KEYS}


def _forget_endpoints(conn: Connection, now: datetime) -> None:
    """Drop endpoint URLs and secrets an earlier version stored in the register."""
    for row in agency_store.list_agencies(conn):
        delivery = row.settings.get("delivery")
        if not isinstance(delivery, dict):
            continue
        kept = _registered_delivery(delivery)
        if kept != delivery:
            settings = {**row.settings, "delivery": kept}
            agency_store.upsert_agency(conn, replace(row, settings=settings, updated_at=now))


def _row(agency: AgencyConfig, now: datetime) -> AgencyRow:
    delivery = _registered_delivery(agency.delivery.model_dump(mode="json"))
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
