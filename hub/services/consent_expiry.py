"""Expiry by time: a consent whose ``valid_until`` has passed is recorded as expired.

Routing already refuses an expired consent at the instant it lapses; recording
the expiry puts it in the consent's history at ``valid_until``, so "what was in
force at time T" has the same answer in the registry as in routing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from hub.audit import AuditAction, AuditRecorder
from hub.errors import StoreError
from hub.observability import get_logger
from hub.store import Store, consents

__all__ = ["expire_due_consents", "run_expiry"]

_log = get_logger(__name__)


def expire_due_consents(
    store: Store, now: datetime, audit: AuditRecorder | None = None, actor: str = "referral-hub"
) -> list[str]:
    """Record every lapsed consent as expired; returns their ids."""
    expired: list[str] = []
    with store.transaction() as conn:
        for row in consents.due_to_expire(conn, now):
            assert row.valid_until is not None
            changed = consents.record_consent(
                conn,
                dataclasses.replace(row, status="expired"),
                # One expiry per validity period: a consent granted again after it
                # lapsed expires again at its new end.
                event_id=f"expiry:{row.consent_id}:{row.valid_until.isoformat()}",
                at=row.valid_until,
            )
            if changed:
                expired.append(row.consent_id)
                if audit is not None:
                    audit.record(
                        conn,
                        action=AuditAction.CONSENT_EXPIRED,
                        actor=actor,
                        at=row.valid_until,
                        consent_id=row.consent_id,
                        details={"valid_until": row.valid_until.isoformat()},
                    )
    return expired


async def run_expiry(
    store: Store,
    audit: AuditRecorder | None = None,
    actor: str = "referral-hub",
    interval_s: float = 1.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Sweep until cancelled."""
    while True:
        try:
            swept = await asyncio.to_thread(expire_due_consents, store, clock(), audit, actor)
            for consent_id in swept:
                _log.info("consent expired", consent_id=consent_id)
        except StoreError as exc:
            _log.warning("consent expiry sweep failed", error=str(exc))
        await asyncio.sleep(interval_s)
