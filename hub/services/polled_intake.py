"""Intake for events an adapter polls from an agency's own system.

The HTTP API answers each request; a polling adapter (a database, a drop
folder) submits what it found in one go and records each answer at the
agency's side. The checks, the de-duplication and the audit entries are those
of the HTTP intake: the same event id with the same content is a retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from hub.audit import AuditRecorder
from hub.contracts import CloudEvent, ContractRegistry
from hub.errors import HubError
from hub.services.intake import Acceptance, Submission, accept_many, vet
from hub.store import Store

__all__ = ["OnRefused", "submit_polled"]

#: Told of each refused event after the acceptances committed (to count and audit it).
OnRefused = Callable[[HubError, CloudEvent], None]


def submit_polled(
    store: Store,
    registry: ContractRegistry,
    audit: AuditRecorder | None,
    events: Sequence[CloudEvent],
    *,
    sender: str,
    now: datetime,
    on_refused: OnRefused | None = None,
) -> list[HubError | None]:
    """Accept ``events`` from ``sender`` in one transaction; None for each accepted one."""
    answers: list[HubError | None] = [None] * len(events)
    vetted: list[tuple[int, Submission]] = []
    for index, event in enumerate(events):
        try:
            payload = vet(registry, event, sender)
        except HubError as exc:
            answers[index] = exc
        else:
            vetted.append((index, Submission(event, payload, sender)))
    if vetted:
        with store.transaction() as conn:
            outcomes = accept_many(
                conn, [submission for _, submission in vetted], now=now, audit=audit
            )
        for (index, _), outcome in zip(vetted, outcomes, strict=True):
            answers[index] = None if isinstance(outcome, Acceptance) else outcome
    if on_refused is not None:
        for event, answer in zip(events, answers, strict=True):
            if answer is not None:
                on_refused(answer, event)
    return answers
