"""Building blocks the audit tests share: times, consents, and a small populated log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.audit import AuditAction, AuditRecorder, disclosure_details
from hub.store import AuditCheckpointRow, ConsentRow, Store, consents

T0 = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A time ``minutes`` after the tests' epoch."""
    return T0 + timedelta(minutes=minutes)


def scope(
    *,
    agency: str | None = None,
    kind: str | None = None,
    purposes: tuple[str, ...] = ("justice",),
    categories: tuple[str, ...] = ("contact",),
) -> dict[str, Any]:
    item: dict[str, Any] = {"purposes": list(purposes), "categories": list(categories)}
    if agency is not None:
        item["recipient_agency"] = agency
    if kind is not None:
        item["recipient_kind"] = kind
    return item


def record_consent(
    store: Store,
    consent_id: str,
    *,
    scopes: list[dict[str, Any]],
    when: datetime,
    status: str = "active",
    recorded_by: str = "hospital-a",
    valid_from: datetime = T0,
    valid_until: datetime | None = None,
    event_id: str | None = None,
) -> None:
    """Record a version of a consent, as intake does, at ``when``."""
    row = ConsentRow(
        consent_id=consent_id,
        subject_id="subject-1",
        recorded_by=recorded_by,
        granted_by="self",
        status=status,
        scope=scopes,
        valid_from=valid_from,
        valid_until=valid_until,
        updated_at=when,
        last_event_id="",
    )
    with store.transaction() as conn:
        consents.record_consent(
            conn, row, event_id=event_id or f"ev-{consent_id}-{status}-{when:%H%M%S}", at=when
        )


def populate(store: Store, recorder: AuditRecorder) -> AuditCheckpointRow:
    """Three referral chains, a consent chain and the hub chain, then a checkpoint over them."""
    with store.transaction() as conn:
        for minute, referral in enumerate(("r1", "r2", "r1", "r3", "r1", "r2")):
            recorder.record(
                conn,
                action=AuditAction.ROUTED,
                actor="hub",
                at=at(minute),
                event_id=f"ev-{minute}",
                referral_id=referral,
                consent_id="c1",
                details=disclosure_details(
                    recipient="court-b", disclosed=["contact"], purpose="justice"
                ),
            )
        recorder.record(
            conn,
            action=AuditAction.CONSENT_GRANTED,
            actor="hospital-a",
            at=at(7),
            consent_id="c9",
        )
        recorder.record(
            conn,
            action=AuditAction.AGENCY_ADDED,
            actor="operator",
            at=at(8),
            details={"agency": "shelter-c"},
        )
        return recorder.checkpoint(conn, at(9))
