"""Task updates to ``referral.status-changed``, and Task outputs to outcomes.

The agency handling a referral moves its Task along (accepted, in-progress,
completed...), as Gravity SDOH and BSeR do; every move is a status event the
referrer hears. Outputs typed in ``urn:referral-hub:task-output`` report what
came of the referral; other outputs (references to Procedures and the like, as
Gravity uses them) point at records the hub does not carry and are left alone.
An outcome may also arrive alone, as the FHIRPath Patch the hub itself sends
(a PATCH entry adding outputs to the Task), since it says nothing of status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from hub.adapters.fhir._dates import instant
from hub.adapters.fhir._decode_referral import referral_id_of
from hub.adapters.fhir._ids import derived_id
from hub.adapters.fhir._nodes import Node
from hub.adapters.fhir._references import Resource, identifier_value, literal_id, reference_type
from hub.adapters.fhir._scope import Scope, codings, concept, text_of
from hub.adapters.fhir._versions import model_date_time
from hub.adapters.fhir.mapping import (
    REFERRAL_SYSTEM,
    STATUS_FROM_FHIR,
    STATUS_REFUSED,
    TASK_CODE_SYSTEM,
    TASK_OUTPUT_SYSTEM,
    outcome_from_coding,
)
from hub.contracts import CloudEvent, ReferralStatus
from hub.contracts.events import ReferralOutcomeReportedV1, ReferralStatusChangedV1
from hub.contracts.events.referral import OUTCOME_DOMAINS, OutcomeCode

__all__ = ["check_referral_task", "read_patch", "read_task"]

_OUTPUT_FIELDS = {
    "occurred-at": "occurred_at",
    "next-step-at": "next_step_at",
    "case-number": "case_number",
    "clinical-note": "clinical_note",
    "note": "note",
}


def check_referral_task(task: Resource) -> None:
    """Refuse a Task that does not manage a referral (a patient task, a lab task...)."""
    code = task.node.child("code")
    if code is None:
        return
    if not any(s == TASK_CODE_SYSTEM and c == "fulfill" for s, c, _ in codings(code)):
        raise code.fail(
            f"a referral Task is a 'fulfill' Task ({TASK_CODE_SYSTEM}); this one does "
            "something else"
        )
    owner = task.node.child("owner")
    if owner is not None and reference_type(owner, None) == "Patient":
        raise owner.fail("a Task owned by the patient is not a referral to an agency")


def read_task(scope: Scope, task: Resource, notes: list[str]) -> list[CloudEvent]:
    """A status change, and an outcome when the Task's outputs report one."""
    check_referral_task(task)
    node = task.node
    raw_status = node.require("status")
    if raw_status in STATUS_REFUSED:
        raise node.fail(f"{raw_status}: {STATUS_REFUSED[raw_status]}", "status")
    status = STATUS_FROM_FHIR.get(raw_status)
    if status is None:
        raise node.fail(f"unknown Task status {raw_status!r}", "status")
    # An agency's own finer states travel in businessStatus; where the
    # configuration maps one to a hub status, that is the status it means.
    mapped = scope.mapped_code("status", node.child("businessStatus"))
    if mapped is not None:
        status = ReferralStatus(mapped)
    owner = scope.agency_of(node.child("owner"), task)
    source = scope.source((owner, node, "owner"))
    referral_id = _referral_id(scope, task, source)
    status_reason = text_of(concept(node, "statusReason", r5=scope.r5))
    if raw_status == "entered-in-error" and status_reason is None:
        status_reason = "entered in error"
    task_notes = [n for n in (a.text("text") for a in node.children("note")) if n] + notes
    data: dict[str, Any] = {
        "referral_id": referral_id,
        "status": status.value,
        "business_status": text_of(node.child("businessStatus")),
        "status_reason": status_reason,
        "note": "\n\n".join(task_notes) or None,
    }
    fields = {
        "referral_id": f"{node.path}.identifier",
        "status": f"{node.path}.status",
        "business_status": f"{node.path}.businessStatus",
        "status_reason": f"{node.path}.statusReason",
        "note": f"{node.path}.note",
    }
    time = scope.time_of(task, "lastModified", "authoredOn")
    last_modified = model_date_time(node.text("lastModified"))
    events = [
        scope.event(
            ReferralStatusChangedV1,
            data,
            source=source,
            resource=task,
            fields=fields,
            time=time,
            version_key=last_modified,
        )
    ]
    outcome = _outcome(scope, task, node.children("output"), referral_id, source)
    if outcome is not None:
        events.append(outcome)
    return events


def read_patch(scope: Scope, patch: Resource) -> list[CloudEvent]:
    """The outcome a FHIRPath Patch adding Task outputs reports."""
    entry = patch.entry
    request = entry.child("request") if entry is not None else None
    url = request.text("url") if request is not None else None
    if request is None or not url or not url.startswith("Task?"):
        raise patch.node.fail("a Patch is read only when it targets Task?identifier=...")
    values = parse_qs(url.partition("?")[2]).get("identifier", [])
    system, _, referral_id = values[0].partition("|") if values else ("", "", "")
    if system != REFERRAL_SYSTEM or not referral_id:
        raise request.fail(
            f"the Patch must name the Task by its {REFERRAL_SYSTEM} identifier", "url"
        )
    outputs = []
    for operation in patch.node.children("parameter"):
        parts = {p.text("name"): p for p in operation.children("part")}
        kind = parts.get("type")
        target = parts.get("name")
        if operation.text("name") != "operation" or kind is None or target is None:
            raise operation.fail("not a FHIRPath Patch operation")
        if kind.text("valueCode") != "add" or target.text("valueString") != "output":
            raise operation.fail("only 'add' operations on Task.output are read")
        value = parts.get("value")
        if value is None:
            raise operation.fail("required: the output to add", "part")
        output: dict[str, object] = {}
        for part in value.children("part"):
            name = part.text("name")
            for key, item in part.data.items():
                # A null stands for nothing (the models drop it), so it never
                # replaces the value an earlier key gave.
                if key.startswith("value") and item is not None:
                    output["type" if name == "type" else key] = item
        outputs.append(value.at(output, value.path))
    source = scope.source((None, patch.node, "parameter"))
    outcome = _outcome(scope, patch, outputs, referral_id, source)
    if outcome is None:
        raise patch.node.fail("adds no output the hub reads (urn:referral-hub:task-output)")
    return [outcome]


def _referral_id(scope: Scope, task: Resource, source: str) -> str:
    own = task.identifier(REFERRAL_SYSTEM)
    if own is not None:
        return own
    node = task.node
    focus = node.child("focus")
    for reference in ([focus] if focus is not None else []) + node.children("basedOn"):
        target = scope.resources.resolve(reference, task)
        kind = reference_type(reference, target)
        if kind not in (None, "ServiceRequest"):
            if reference is focus:
                raise reference.fail(f"a referral Task focuses a ServiceRequest, not a {kind}")
            continue
        if target is not None:
            return referral_id_of(scope.context.pseudonym_key, target, None, source)
        named = identifier_value(reference, REFERRAL_SYSTEM)
        if named is not None:
            return named
        local = literal_id(reference, "ServiceRequest")
        if local is not None:
            key = scope.context.pseudonym_key
            return derived_id(key, source, "ServiceRequest", local, readable=True)
    raise node.fail(
        "names no ServiceRequest: a referral Task focuses the ServiceRequest it fulfils "
        f"(or carries a {REFERRAL_SYSTEM} identifier)",
        "focus",
    )


def _outcome(
    scope: Scope, resource: Resource, outputs: list[Node], referral_id: str, source: str
) -> CloudEvent | None:
    found: dict[str, Any] = {}
    path = f"{resource.path}.output"
    for output in outputs:
        kind = output.child("type")
        names = [c for s, c, _ in codings(kind) if s == TASK_OUTPUT_SYSTEM] if kind else []
        if not names:
            continue
        name = names[0]
        if name == "outcome":
            value = output.child("valueCodeableConcept")
            outcome = next(
                (o for s, c, _ in codings(value) if (o := outcome_from_coding(s, c))), None
            )
            if outcome is None and (mapped := scope.mapped_code("outcome", value)) is not None:
                outcome = OutcomeCode(mapped)
            if outcome is None:
                raise output.fail(
                    "names no outcome of urn:referral-hub:outcome", "valueCodeableConcept"
                )
            found["outcome"] = outcome.value
            found["domain"] = OUTCOME_DOMAINS[outcome].value
        elif name in {"occurred-at", "next-step-at"}:
            moment = instant(output, "valueDateTime")
            if moment is None:
                raise output.fail("needs valueDateTime", "valueDateTime")
            found[_OUTPUT_FIELDS[name]] = moment.isoformat()
        elif name in _OUTPUT_FIELDS:
            found[_OUTPUT_FIELDS[name]] = output.require("valueString")
        else:
            raise output.fail(f"unknown output {name!r} of {TASK_OUTPUT_SYSTEM}", "type")
    if not found:
        return None
    if "outcome" not in found:
        raise resource.node.fail("the outputs report no 'outcome'", "output")
    if "occurred_at" not in found:
        moment = instant(resource.node, "lastModified")
        if moment is None:
            raise resource.node.fail("an outcome needs an 'occurred-at' output", "output")
        found["occurred_at"] = moment.isoformat()
    data = {"referral_id": referral_id, **found}
    fields = {name: path for name in data}
    return scope.event(
        ReferralOutcomeReportedV1,
        data,
        source=source,
        resource=resource,
        fields=fields,
        time=scope.time_of(resource, "lastModified"),
        discriminator="#outcome",
    )
