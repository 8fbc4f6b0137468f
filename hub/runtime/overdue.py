"""The time-limit checker: a ``referral.overdue`` notice when a referral's limit passes.

Each pass looks at every open referral; a notice's id is derived from the
referral and the limit, and the outbox keeps one row per (source, id), so a
limit is notified once however many passes see it. The relay publishes the
notices to the referrer's and the receiving agency's inboxes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from hub.broker.topics import inbox_topic
from hub.config import AgencyConfig, PathwayConfig
from hub.consumers.journal import journal_id
from hub.contracts import new_event
from hub.contracts.events import OverdueLimit, ReferralOverdueV1
from hub.errors import StoreError
from hub.observability import get_logger
from hub.observability.flow import pathway_steps, time_limits
from hub.services.vault import seal_unless_erased
from hub.store import Store, flow, outbox

__all__ = ["overdue_id", "run_overdue_checks", "send_overdue_notices"]

_log = get_logger(__name__)
_NAMESPACE = uuid.UUID("6a0f4b1e-93c2-4d8e-9f71-2f4c0b7e5d13")
_CLOSED = frozenset({"completed", "cancelled", "failed", "rejected"})
_LIMITS = {"step": OverdueLimit.STEP, "due_by": OverdueLimit.DUE_BY}


def overdue_id(referral_id: str, limit: OverdueLimit) -> str:
    """The notice's event id: the same on every pass, so each limit is notified once."""
    return str(uuid.uuid5(_NAMESPACE, f"{referral_id}/{limit.value}"))


def send_overdue_notices(
    store: Store,
    *,
    hub_id: str,
    pathways: Sequence[PathwayConfig],
    agencies: Mapping[str, AgencyConfig],
    now: datetime,
) -> int:
    """Queue notices for limits passed since the last pass; how many copies were new."""
    steps = pathway_steps(pathways)
    queued = 0
    with store.transaction() as conn:
        for referral in flow.referral_times(conn):
            if referral.status in _CLOSED:
                continue
            known = steps.get(referral.pathway_step or "")
            for limit in time_limits(referral, known[1] if known else None):
                # A deadline already past when the referral arrived is the referrer's
                # date, not a hand-off running late: the metrics count it, no notice.
                if (
                    limit.met_at is not None
                    or now <= limit.deadline
                    or limit.deadline <= referral.created_at
                ):
                    continue
                kind = _LIMITS[limit.kind]
                notice = ReferralOverdueV1(
                    referral_id=referral.referral_id,
                    from_agency=referral.from_agency,
                    to_agency=referral.to_agency,
                    limit=kind,
                    pathway_step=referral.pathway_step,
                    deadline=limit.deadline,
                    detected_at=now,
                )
                event = new_event(
                    notice,
                    source=hub_id,
                    event_id=overdue_id(referral.referral_id, kind),
                    time=now,
                    consent_id=referral.consent_id,
                )
                for recipient in (referral.from_agency, referral.to_agency):
                    agency = agencies.get(recipient)
                    if agency is None:
                        continue
                    copy_id = journal_id(event.id, recipient)
                    if outbox.get(conn, hub_id, copy_id) is not None:
                        continue
                    sealed = seal_unless_erased(conn, event, now)
                    if sealed is None:
                        continue
                    queued += outbox.add(
                        conn,
                        source=hub_id,
                        event_id=copy_id,
                        topic=inbox_topic(recipient),
                        key=referral.referral_id,
                        envelope=sealed,
                        at=now,
                    )
    return queued


async def run_overdue_checks(
    store: Store,
    *,
    hub_id: str,
    pathways: Sequence[PathwayConfig],
    agencies: Mapping[str, AgencyConfig],
    interval_s: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Check time limits every ``interval_s`` until cancelled."""
    while True:
        try:
            queued = await asyncio.to_thread(
                lambda: send_overdue_notices(
                    store, hub_id=hub_id, pathways=pathways, agencies=agencies, now=clock()
                )
            )
            if queued:
                _log.info("overdue notices queued", copies=queued)
        except StoreError as exc:
            _log.warning("time limits not checked", error=str(exc))
        await asyncio.sleep(interval_s)
