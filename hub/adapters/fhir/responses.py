"""What a FHIR server answers: OperationOutcomes, search Bundles, Task views.

The hub's FHIR endpoints answer hospitals the way their FHIR client expects a
server to: an OperationOutcome for every error (and, on request, for success),
a ``searchset`` Bundle for a search, a ``transaction-response`` for a
transaction. The referral projection is shown as the Task that manages it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.adapters.fhir._dates import format_instant
from hub.adapters.fhir._encode_parts import FULFIL, logical, referral_focus
from hub.adapters.fhir._ids import fhir_id
from hub.adapters.fhir.mapping import (
    AGENCY_SYSTEM,
    PRIORITY_TO_FHIR,
    REFERRAL_SYSTEM,
    SUBJECT_SYSTEM,
)
from hub.contracts.events import Priority

__all__ = ["TaskView", "operation_outcome", "searchset", "task_resource", "transaction_response"]

JSON = dict[str, Any]


@dataclass(frozen=True)
class TaskView:
    """A referral as the hub holds it, to be shown as its Task."""

    referral_id: str
    status: str
    priority: str
    from_agency: str
    to_agency: str
    subject_id: str
    created_at: datetime
    updated_at: datetime
    due_by: datetime | None
    version: int

    @property
    def task_id(self) -> str:
        return fhir_id(self.referral_id)


def operation_outcome(
    code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None
) -> JSON:
    """One issue; ``code`` is a FHIR IssueType (invalid, not-found, forbidden...)."""
    issue: JSON = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def task_resource(view: TaskView) -> JSON:
    task: JSON = {
        "resourceType": "Task",
        "id": view.task_id,
        "meta": {"versionId": str(view.version), "lastUpdated": format_instant(view.updated_at)},
        "identifier": [{"system": REFERRAL_SYSTEM, "value": view.referral_id}],
        "status": view.status,
        "intent": "order",
        "priority": PRIORITY_TO_FHIR[Priority(view.priority)],
        "code": FULFIL,
        "focus": referral_focus(view.referral_id),
        "for": logical("Patient", SUBJECT_SYSTEM, view.subject_id),
        "authoredOn": format_instant(view.created_at),
        "lastModified": format_instant(view.updated_at),
        "requester": logical("Organization", AGENCY_SYSTEM, view.from_agency),
        "owner": logical("Organization", AGENCY_SYSTEM, view.to_agency),
    }
    if view.due_by is not None:
        task["restriction"] = {"period": {"end": format_instant(view.due_by)}}
    return task


def searchset(base_url: str, self_url: str, tasks: Sequence[JSON], total: int) -> JSON:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url}/Task/{task['id']}",
                "resource": task,
                "search": {"mode": "match"},
            }
            for task in tasks
        ],
    }


def transaction_response(bundle_type: str, entries: int, *, created: bool) -> JSON:
    """One response per request entry: the events of a Bundle are taken in together."""
    status = "201 Created" if created else "200 OK"
    return {
        "resourceType": "Bundle",
        "type": f"{bundle_type}-response",
        "entry": [{"response": {"status": status}} for _ in range(entries)],
    }
