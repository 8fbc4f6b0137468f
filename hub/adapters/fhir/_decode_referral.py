"""ServiceRequest (with its Task and Patient) to ``referral.requested``.

Following Gravity SDOH and BSeR, the ServiceRequest says what is asked (code,
priority, reason, notes) and the Task manages it (requester, owner, due date).
Several ServiceRequests sharing a ``requisition`` in ``urn:referral-hub:referral``
are one referral for several services of the same agency (contract v2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.adapters.fhir._dates import until
from hub.adapters.fhir._decode_consent import ConsentBook
from hub.adapters.fhir._ids import derived_id
from hub.adapters.fhir._incident import incident_of, is_incident_concept
from hub.adapters.fhir._nodes import Node
from hub.adapters.fhir._patient import contact_of, identity_of
from hub.adapters.fhir._references import Resource
from hub.adapters.fhir._scope import Scope, codings, concept, concepts, text_of
from hub.adapters.fhir.mapping import (
    PATHWAY_STEP_SYSTEM,
    PRIORITY_FROM_FHIR,
    REFERRAL_SYSTEM,
    SERVICE_FROM_CODING,
    SERVICE_SYSTEM,
)
from hub.contracts import CloudEvent, ServiceCode
from hub.contracts.events import ReferralRequestedV2, ReferralRequestedV3

__all__ = ["ReferralUnit", "read_referral", "referral_id_of"]

_SERVICE_CODES = frozenset(code.value for code in ServiceCode)


@dataclass
class ReferralUnit:
    """One new referral in the document: its ServiceRequest(s) and Task."""

    main: Resource
    additional: list[Resource] = field(default_factory=list)
    task: Resource | None = None
    notes: list[str] = field(default_factory=list)

    def holds(self, resource: Resource) -> bool:
        return resource is self.main or resource is self.task or resource in self.additional


def read_referral(scope: Scope, unit: ReferralUnit, consents: ConsentBook) -> CloudEvent:
    request, task = unit.main, unit.task
    node = request.node
    status = node.require("status")
    if status != "active":
        raise node.fail(f"{status}: only an active ServiceRequest is a referral", "status")
    from_agency = (
        scope.agency_of(node.child("requester"), request)
        or _task_agency(scope, task, "requester")
        or scope.sender()
    )
    source = scope.source((from_agency, node, "requester"))
    performers = node.children("performer")
    to_agency = (
        next((a for p in performers if (a := scope.agency_of(p, request)) is not None), None)
        or _task_agency(scope, task, "owner")
        or scope.receiver()
    )
    if to_agency is None:
        raise node.fail(
            "names no hub agency to refer to (an Organization identified in "
            "urn:referral-hub:agency, as performer or as the Task's owner)",
            "performer",
        )
    subject = scope.subject(node.child("subject"), request, "subject")
    notes = [n for n in (a.text("text") for a in node.children("note")) if n] + unit.notes
    data: dict[str, Any] = {
        "referral_id": referral_id_of(scope.context.pseudonym_key, unit.main, unit.task, source),
        "from_agency": from_agency or source,
        "to_agency": to_agency,
        "subject_id": subject.subject_id,
        "service": _service(scope, request).value,
        "additional_services": [_service(scope, extra).value for extra in unit.additional],
        "priority": _priority(node, task),
        "consent_id": consents.for_referral(request, source),
        "due_by": _due_by(scope, request, task),
        "pathway_step": _pathway_step(node),
        "reason": _reason(scope, node),
        "narrative": "\n\n".join(notes) or None,
        "identity": identity_of(subject.patient),
        "contact": contact_of(subject.patient),
    }
    reason_key = "reason" if scope.r5 else "reasonCode"
    incident = incident_of(node, reason_key, r5=scope.r5)
    if incident is not None:
        data["incident"] = incident
    patient_path = subject.patient.path if subject.patient is not None else node.path
    fields = {
        "referral_id": f"{node.path}.identifier",
        "from_agency": f"{node.path}.requester",
        "to_agency": f"{node.path}.performer",
        "subject_id": f"{node.path}.subject",
        "service": f"{node.path}.code",
        "additional_services": f"{node.path}.requisition",
        "priority": f"{node.path}.priority",
        "consent_id": f"{node.path}.supportingInfo",
        "due_by": f"{task.path}.restriction" if task is not None else f"{node.path}.occurrence",
        "pathway_step": f"{node.path}.category",
        "reason": f"{node.path}.{'reason' if scope.r5 else 'reasonCode'}",
        "narrative": f"{node.path}.note",
        "incident": f"{node.path}.{reason_key}",
        "identity": f"{patient_path}.name",
        "contact": f"{patient_path}.telecom",
    }
    return scope.event(
        ReferralRequestedV3 if incident is not None else ReferralRequestedV2,
        data,
        source=source,
        resource=request,
        fields=fields,
        time=scope.time_of(request, "authoredOn"),
    )


def referral_id_of(key: bytes, request: Resource, task: Resource | None, source: str) -> str:
    """The hub's referral id: given by the hub's identifier, else derived from the sender's.

    ``key`` keys the hash of a derived id (see :func:`derived_id`).
    """
    for resource in (request, task):
        if resource is not None and (found := resource.identifier(REFERRAL_SYSTEM)):
            return found
    requisition = request.node.child("requisition")
    if requisition is not None and requisition.text("system") == REFERRAL_SYSTEM:
        value = requisition.text("value")
        if value:
            return value
    holder = request.container
    if request.id and holder is None:
        return derived_id(key, source, "ServiceRequest", request.id, readable=True)
    if request.id and holder is not None and holder.id:
        # A contained id is the container's own business: "#sr1" recurs in
        # every Task that contains its request, so the Task's id names it.
        local = f"{holder.type}/{holder.id}#{request.id}"
        return derived_id(key, source, "ServiceRequest", local, readable=False)
    for identifier in request.node.children("identifier"):
        system, value = identifier.text("system"), identifier.text("value")
        if system and value:
            local = f"{system}|{value}"
            return derived_id(key, source, "ServiceRequest", local, readable=False)
    if request.full_url:
        return derived_id(key, source, "ServiceRequest", request.full_url, readable=False)
    raise request.node.fail("needs an id or an identifier to name the referral", "identifier")


def _task_agency(scope: Scope, task: Resource | None, element: str) -> str | None:
    return scope.agency_of(task.node.child(element), task) if task is not None else None


def _service(scope: Scope, request: Resource) -> ServiceCode:
    code = concept(request.node, "code", r5=scope.r5)
    if code is None:
        raise request.node.fail("required: the service asked for", "code")
    if scope.context.directory is not None:
        # The hub's own code first; then the directory's maps (SNOMED CT and
        # the configured ones), which refuse a code of a mapped system they lack.
        for system, value, _ in codings(code):
            if system == SERVICE_SYSTEM and value in _SERVICE_CODES:
                return ServiceCode(value)
        mapped = scope.mapped_code("service", code)
        if mapped is not None:
            return ServiceCode(mapped)
    else:
        for system, value, _ in codings(code):
            found = SERVICE_FROM_CODING.get((system or "", value or ""))
            if found is not None:
                return found
    raise code.fail(
        "no coding names a hub service (a code of urn:referral-hub:service, or a SNOMED CT "
        "concept the hub maps)"
    )


def _priority(node: Node, task: Resource | None) -> str:
    text = node.text("priority") or (task.node.text("priority") if task is not None else None)
    if text is None:
        return "routine"
    found = PRIORITY_FROM_FHIR.get(text)
    if found is None:
        raise node.fail(f"unknown priority {text!r}", "priority")
    return found.value


def _due_by(scope: Scope, request: Resource, task: Resource | None) -> str | None:
    if task is not None:
        restriction = task.node.child("restriction")
        period = restriction.child("period") if restriction is not None else None
        end = until(period, "end") if period is not None else None
        if end is not None:
            return end.isoformat()
    node = request.node
    found = until(node, "occurrenceDateTime")
    if found is None and (period := node.child("occurrencePeriod")) is not None:
        found = until(period, "end")
    return found.isoformat() if found is not None else None


def _pathway_step(node: Node) -> str | None:
    for category in node.children("category"):
        for system, code, _ in codings(category):
            if system == PATHWAY_STEP_SYSTEM and code:
                return code
    return None


def _reason(scope: Scope, node: Node) -> str | None:
    key = "reason" if scope.r5 else "reasonCode"
    texts = [
        text
        for c in concepts(node, key, r5=scope.r5)
        if not is_incident_concept(c) and (text := text_of(c))
    ]
    return "; ".join(texts) or None
