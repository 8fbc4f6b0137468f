"""A social-service agency's case-management application, as the demo simulates it.

It never talks to the hub: it writes status updates and outcomes into its own
tables (the example schema of :mod:`hub.adapters.social_db.example`), and reads
what the hub wrote into its ``hub_received`` table. What it read is what the
demo counts as delivered, as for the agencies on HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, insert, select

from hub.adapters import AdapterContext
from hub.adapters.social_db import SocialDbAdapter, decode_row
from hub.adapters.social_db.example import example_mapping, example_tables
from hub.config.social_db import SocialDbDelivery
from hub.contracts import CloudEvent, ContractRegistry
from hub.contracts.events import (
    EventPayload,
    ReferralOutcomeReportedV1,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
)

__all__ = ["CaseDatabaseApp"]

_TABLES = example_tables()
_REFERRALS = _TABLES.tables["case_referrals"]
_STATUS = _TABLES.tables["case_status_updates"]
_OUTCOMES = _TABLES.tables["case_outcomes"]
_RECEIVED = _TABLES.tables["hub_received"]

OnRow = Callable[[CloudEvent], Awaitable[None]]


class CaseDatabaseApp:
    """One agency's application on its own SQLite database."""

    def __init__(
        self,
        agency_id: str,
        url: str,
        url_env: str,
        *,
        pseudonym_key: bytes,
        registry: ContractRegistry,
    ) -> None:
        self.agency_id = agency_id
        self.url = url
        self.mapping: SocialDbDelivery = example_mapping(url_env)
        self._engine: Engine = create_engine(url, connect_args={"timeout": 30})
        _TABLES.create_all(self._engine)
        self._key = pseudonym_key
        self._registry = registry
        self._reader = SocialDbAdapter(
            AdapterContext(
                pseudonym_key,
                registry=registry,
                options={"mapping": self.mapping.model_dump_json()},
            )
        )
        self._seen: set[str] = set()

    def close(self) -> None:
        self._engine.dispose()

    async def record(self, payload: EventPayload) -> CloudEvent:
        """Write what a case worker records; the event the hub will take in from that row."""
        return await asyncio.to_thread(self._record, payload)

    def _record(self, payload: EventPayload) -> CloudEvent:
        local = {code: mine for mine, code in self.mapping.value_maps.get("status", {}).items()}
        outcomes = {code: mine for mine, code in self.mapping.value_maps.get("outcome", {}).items()}
        row: dict[str, Any]
        if isinstance(payload, ReferralStatusChangedV1):
            table = _STATUS
            row = {
                "dossier_no": payload.referral_id,
                "new_status": local.get(payload.status.value, payload.status.value),
                "why": payload.status_reason,
                "remark": payload.note,
            }
        elif isinstance(payload, ReferralOutcomeReportedV1):
            table = _OUTCOMES
            row = {
                "dossier_no": payload.referral_id,
                "result_code": outcomes.get(payload.outcome.value, payload.outcome.value),
                "occurred": payload.occurred_at.astimezone(UTC).replace(tzinfo=None),
                "remark": payload.note,
            }
        elif isinstance(payload, ReferralRequestedV2):
            table = _REFERRALS
            services = _reverse(self.mapping.value_maps.get("service", {}))
            priorities = _reverse(self.mapping.value_maps.get("priority", {}))
            risk = payload.safety_risk.level.value if payload.safety_risk else None
            contact = payload.contact
            row = {
                "dossier_no": payload.referral_id,
                # The pseudonym the hub delivered with the referral she came in with.
                "beneficiary_ref": payload.subject_id,
                "to_org": payload.to_agency,
                "service_code": services.get(payload.service.value, payload.service.value),
                "urgency": priorities.get(payload.priority.value, payload.priority.value),
                "consent_ref": payload.consent_id,
                "due_date": payload.due_by.astimezone(UTC).replace(tzinfo=None)
                if payload.due_by
                else None,
                "motive": payload.reason,
                "risk": risk,
                "phone": contact.phone if contact else None,
                "no_contact": contact.do_not_contact if contact else None,
            }
        else:
            raise ValueError(f"the case application records no {payload.event_type}")
        with self._engine.begin() as conn:
            inserted = conn.execute(insert(table).values(row)).inserted_primary_key
            assert inserted is not None
            key = inserted[0]
            stored = conn.execute(select(table).where(table.c.id == key)).mappings().one()
        source = next(s for s in self.mapping.outgoing if s.table == table.name)
        return decode_row(
            dict(stored),
            agency_id=self.agency_id,
            source=source,
            settings=self.mapping,
            pseudonym_key=self._key,
            taken_at=datetime.now(UTC),
        )

    async def read_arrivals(
        self, on_event: OnRow, stop: asyncio.Event, interval_s: float = 0.1
    ) -> None:
        """Read new rows of ``hub_received`` until ``stop``, each once."""
        while not stop.is_set():
            for event in await asyncio.to_thread(self._new_arrivals):
                await on_event(event)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    def _new_arrivals(self) -> list[CloudEvent]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_RECEIVED)).mappings().all()
        found = []
        for row in rows:
            if row["event_id"] in self._seen:
                continue
            self._seen.add(row["event_id"])
            document: dict[str, Any] = {"table": _RECEIVED.name, "row": _jsonable(dict(row))}
            found.extend(self._reader.decode(document))
        return found


def _reverse(codes: dict[str, str]) -> dict[str, str]:
    return {hub: mine for mine, hub in codes.items()}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.replace(tzinfo=UTC).isoformat() if isinstance(value, datetime) else value
        for name, value in row.items()
    }
