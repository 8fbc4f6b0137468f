"""The gauges read from the store, recomputed on a timer rather than per scrape.

A scrape only serialises the registry, so neither a busy Prometheus nor a
flood of ``GET /metrics`` puts load on the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from hub.config.pathways import PathwayConfig
from hub.contracts import ReferralStatus
from hub.contracts.status import TERMINAL
from hub.errors import StoreError
from hub.observability import HubMetrics, get_logger
from hub.observability.flow import flow_snapshot
from hub.store import Store, flow, outbox, referrals

__all__ = ["refresh_gauges", "run_gauge_refresh"]

_log = get_logger(__name__)
_OPEN_STATUSES = tuple(status.value for status in ReferralStatus if status not in TERMINAL)


def refresh_gauges(
    store: Store,
    metrics: HubMetrics,
    now: datetime,
    pathways: Sequence[PathwayConfig] = (),
) -> None:
    """Set the backlog, overdue and referral-flow metrics from the store."""
    with store.transaction() as conn:
        pending = outbox.count_pending(conn)
        overdue = referrals.count_overdue(conn, now, list(_OPEN_STATUSES))
        snapshot = flow_snapshot(
            pathways,
            flow.referral_times(conn),
            flow.agency_backlogs(conn),
            flow.dead_letters_by_agency(conn),
            flow.oldest_pending_outbox(conn),
            flow.consent_withdrawals(conn),
            now,
        )
    metrics.outbox_pending.set(pending)
    metrics.referrals_overdue.set(overdue)
    metrics.flow.update(snapshot)


async def run_gauge_refresh(
    store: Store,
    metrics: HubMetrics,
    interval_s: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    pathways: Sequence[PathwayConfig] = (),
) -> None:
    """Refresh the gauges every ``interval_s`` until cancelled.

    On a store failure the gauges keep their last values; /readyz reports the store.
    """
    while True:
        try:
            await asyncio.to_thread(refresh_gauges, store, metrics, clock(), pathways)
        except StoreError as exc:
            _log.warning("metrics gauges not refreshed", error=str(exc))
        await asyncio.sleep(interval_s)
