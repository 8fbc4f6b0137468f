"""A statistics export, read from the store and recorded in the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from hub.audit import AuditAction, AuditRecorder
from hub.config.pathways import PathwayConfig
from hub.stats import Export, StatsRequest, build_export
from hub.store import Store, statistics

__all__ = ["export_statistics", "pathway_of_step"]


def pathway_of_step(pathways: Sequence[PathwayConfig]) -> dict[str, str]:
    """Each configured step id mapped to its pathway's id."""
    return {step.id: pathway.id for pathway in pathways for step in pathway.steps}


def export_statistics(
    store: Store,
    audit: AuditRecorder | None,
    request: StatsRequest,
    *,
    actor: str,
    pathways: Sequence[PathwayConfig] = (),
) -> Export:
    """The export for ``request``; an audit entry says who asked for what, in one transaction.

    ``to`` is inclusive: the period ends at the end of that day (UTC).
    """
    start = datetime.combine(request.start, time(), UTC)
    end = datetime.combine(request.end, time(), UTC) + timedelta(days=1)
    with store.transaction() as conn:
        facts = statistics.facts_between(conn, start, end, pathway_of_step(pathways))
        export = build_export(facts, request)
        if audit is not None:
            audit.record(
                conn,
                action=AuditAction.STATISTICS_EXPORTED,
                actor=actor,
                at=datetime.now(UTC),
                details={
                    "dimensions": list(request.by),
                    "from": request.start.isoformat(),
                    "to": request.end.isoformat(),
                    "threshold": request.threshold,
                },
            )
    return export
