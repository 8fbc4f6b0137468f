"""Replaying the log: what happened, in time order, under which consent.

An auditor reconstructing a referral, or everything an agency took part in,
reads entries across chains by time. Each disclosure comes with the version of
its consent in force at that moment, so the replay shows what she had agreed
to then, not what she agrees to now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit._consents import ConsentLookup
from hub.audit.entries import DISCLOSURE_ACTIONS
from hub.store import AuditEntryRow, ConsentHistoryRow
from hub.store import audit as audit_store

__all__ = ["TimelineItem", "timeline"]

# Detail keys that name an agency an entry concerns, besides its actor.
_AGENCY_KEYS = ("recipient", "agency")


@dataclass(frozen=True)
class TimelineItem:
    """An entry and, for a disclosure made under a consent, that consent as it stood then."""

    entry: AuditEntryRow
    consent: ConsentHistoryRow | None = None

    def as_dict(self) -> dict[str, Any]:
        entry, consent = self.entry, self.consent
        return {
            "at": entry.at.isoformat(),
            "action": entry.action,
            "actor": entry.actor,
            "chain_id": entry.chain_id,
            "seq": entry.seq,
            "entry_id": entry.entry_id,
            "event_id": entry.event_id,
            "referral_id": entry.referral_id,
            "consent_id": entry.consent_id,
            "details": entry.details,
            "consent_in_force": None
            if consent is None
            else {
                "version": consent.seq,
                "status": consent.status,
                "valid_from": consent.valid_from.isoformat(),
                "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
                "scope": consent.scope,
            },
        }


def _involves(entry: AuditEntryRow, agency_id: str) -> bool:
    return entry.actor == agency_id or any(
        entry.details.get(key) == agency_id for key in _AGENCY_KEYS
    )


def timeline(
    conn: Connection,
    *,
    referral_id: str | None = None,
    agency_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TimelineItem]:
    """Entries matching every filter given, oldest first (ties in chain order).

    An agency is involved in an entry it made (``actor``) or that names it as
    ``recipient`` or ``agency``. The window is half-open: ``since <= at < until``.
    """
    rows = audit_store.entries(conn, referral_id=referral_id, since=since, until=until)
    if agency_id is not None:
        rows = [row for row in rows if _involves(row, agency_id)]
    rows.sort(key=lambda row: (row.at, row.chain_id, row.seq))
    lookup = ConsentLookup(conn)
    items: list[TimelineItem] = []
    for row in rows:
        consent = None
        if row.consent_id is not None and row.action in DISCLOSURE_ACTIONS:
            consent = lookup.as_of(row.consent_id, row.at)
        items.append(TimelineItem(row, consent))
    return items
