"""Intake for the adapters that poll an agency's system (its database, its folders)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from hub.api.answers import refusal_code
from hub.audit import AuditRecorder
from hub.contracts import CloudEvent, ContractRegistry
from hub.errors import HubError
from hub.observability import HubMetrics
from hub.services.intake import record_refusal
from hub.services.polled_intake import submit_polled
from hub.store import Store

__all__ = ["PolledSubmit", "polled_submitter"]

PolledSubmit = Callable[[str, Sequence[CloudEvent]], list[HubError | None]]


def polled_submitter(
    store: Store,
    registry: ContractRegistry,
    audit: AuditRecorder | None,
    metrics: HubMetrics,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PolledSubmit:
    """Submits a sender's events; refusals counted and audited as on the HTTP API."""

    def submit(sender: str, events: Sequence[CloudEvent]) -> list[HubError | None]:
        now = clock()

        def refused(exc: HubError, event: CloudEvent) -> None:
            code = refusal_code(exc)
            if code is None:
                return
            metrics.refused.labels(code).inc()
            if audit is not None:
                record_refusal(store, audit, code, event=event, sender=sender, now=now)

        return submit_polled(
            store, registry, audit, events, sender=sender, now=now, on_refused=refused
        )

    return submit
