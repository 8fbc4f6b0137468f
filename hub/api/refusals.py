"""Counting and auditing a refused submission, the same way on ``/v1`` and ``/fhir``."""

from __future__ import annotations

from hub.api.answers import refusal_code
from hub.api.context import ApiContext
from hub.contracts import CloudEvent
from hub.errors import HubError
from hub.services.intake import record_refusal

__all__ = ["note_refusal"]


def note_refusal(hub: ApiContext, caller: str, exc: HubError, event: CloudEvent | None) -> None:
    """Count and audit ``exc`` if it refuses the submission (see ``hub.api.answers``).

    Blocking (it writes the audit entry): call it from a worker thread.
    """
    code = refusal_code(exc)
    if code is None:
        return
    hub.metrics.refused.labels(code).inc()
    if hub.audit is not None:
        record_refusal(hub.store, hub.audit, code, event=event, sender=caller, now=hub.clock())
