"""Canonical events to FHIR transaction Bundles a hospital's server can apply.

- ``referral.requested``: Patient (pseudonym), the two Organizations, the
  Consent it travels under, the ServiceRequest(s) and a ``requested`` Task, each
  created only if absent (``ifNoneExist`` on the hub's identifier);
- ``referral.status-changed``: a conditional PUT of the Task, found by the hub's
  referral identifier;
- ``referral.outcome-reported``: a FHIRPath Patch adding outputs to that Task,
  since an outcome says nothing of the Task's status;
- ``consent.granted`` / ``consent.withdrawn``: a conditional PUT of the Consent;
- ``delivery.failed``: a Communication about the referral, for the referrer;
- ``referral.overdue``: a Communication about the referral's passed time limit;
- ``disclosure.compelled``: a Communication stating the legal basis, for the
  recipient and for the agency that must inform the survivor;
- ``legal.order-issued`` / ``legal.order-declined``: a Communication about the
  referral, for the holder of its data and for the order's issuer.

Every Bundle names the event in ``Bundle.identifier`` (``urn:referral-hub:event``)
so the receiver can de-duplicate, tags its canonical type in ``Bundle.meta.tag``,
and is checked against the fhir.resources models of the agency's FHIR version
before it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.adapters.directory import Directory
from hub.adapters.fhir._dates import format_instant
from hub.adapters.fhir._encode_parts import (
    FULFIL,
    Entries,
    consent_grant,
    consent_reference,
    logical,
    organization,
    patient,
    referral_focus,
)
from hub.adapters.fhir._external_names import name_agencies
from hub.adapters.fhir._incident import incident_concepts
from hub.adapters.fhir._versions import FhirVersion, check_resource
from hub.adapters.fhir.mapping import (
    AGENCY_SYSTEM,
    CONSENT_SYSTEM,
    EVENT_SYSTEM,
    EVENT_TYPE_SYSTEM,
    FAILURE_SYSTEM,
    NOTICE_SYSTEM,
    OUTCOME_SYSTEM,
    PATHWAY_STEP_SYSTEM,
    PRIORITY_TO_FHIR,
    REFERRAL_SYSTEM,
    SERVICE_LINE_SYSTEM,
    SUBJECT_SYSTEM,
    TASK_OUTPUT_SYSTEM,
    service_codings,
)
from hub.contracts import CloudEvent, ContractRegistry, ServiceCode
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentWithdrawnV1,
    DeliveryFailedV1,
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    LegalOrderDeclinedV1,
    LegalOrderIssuedV1,
    ReferralOutcomeReportedV1,
    ReferralOverdueV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
)
from hub.contracts.vocabulary import service
from hub.errors import AdapterError, ContractError

__all__ = ["ENCODED_TYPES", "ReferralParties", "encode_event"]

JSON = dict[str, Any]

#: Event types that have a FHIR form.
ENCODED_TYPES = frozenset(
    {
        "referral.requested",
        "referral.status-changed",
        "referral.outcome-reported",
        "consent.granted",
        "consent.withdrawn",
        "delivery.failed",
        "disclosure.compelled",
        "legal.order-issued",
        "legal.order-declined",
    }
)


@dataclass(frozen=True)
class ReferralParties:
    """What the hub knows of a referral beyond a status event: who, and for whom.

    With it, a status update writes a complete Task (requester, owner, patient);
    without it, only what the event itself carries.
    """

    from_agency: str
    to_agency: str
    subject_id: str


def encode_event(
    event: CloudEvent,
    version: FhirVersion,
    *,
    registry: ContractRegistry,
    parties: ReferralParties | None = None,
    directory: Directory | None = None,
) -> JSON:
    """A transaction Bundle for ``event``, valid for ``version``, or AdapterError.

    With ``directory``, agencies are also named by their first alias (see
    :mod:`hub.adapters.fhir._external_names`).
    """
    try:
        payload = registry.parse(event)
    except ContractError as exc:
        raise AdapterError(f"the event does not fit its contract: {exc}") from exc
    r5 = version is FhirVersion.R5
    entries = Entries()
    match payload:
        case ReferralRequestedV1() | ReferralRequestedV2():
            _requested(payload, event, entries, r5=r5)
        case ReferralStatusChangedV1():
            _status_changed(payload, event, entries, parties, r5=r5)
        case ReferralOutcomeReportedV1():
            _outcome(payload, entries)
        case ConsentGrantedV1():
            _granted(payload, entries, r5=r5)
        case ConsentWithdrawnV1():
            _withdrawn(payload, entries, r5=r5)
        case DeliveryFailedV1():
            _delivery_failed(payload, event, entries, r5=r5)
        case ReferralOverdueV1():
            _overdue(payload, event, entries, r5=r5)
        case DisclosureCompelledV1() | DisclosureCompelledV2():
            _disclosure_compelled(payload, event, entries, r5=r5)
        case LegalOrderIssuedV1() | LegalOrderDeclinedV1():
            _legal_step(payload, event, entries, r5=r5)
        case _:
            raise AdapterError(f"{event.type} has no FHIR form")
    if directory is not None:
        name_agencies(entries.items, directory)
    bundle: JSON = {
        "resourceType": "Bundle",
        "meta": {"tag": [{"system": EVENT_TYPE_SYSTEM, "code": event.type}]},
        "identifier": {"system": EVENT_SYSTEM, "value": event.id},
        "type": "transaction",
        "timestamp": format_instant(event.time),
        "entry": entries.items,
    }
    check_resource(bundle, version)
    return bundle


def _requested(
    payload: ReferralRequestedV1 | ReferralRequestedV2,
    event: CloudEvent,
    entries: Entries,
    *,
    r5: bool,
) -> None:
    referral_id = payload.referral_id
    patient_url = entries.create(
        patient(payload.subject_id, payload.identity, payload.contact),
        SUBJECT_SYSTEM,
        payload.subject_id,
    )
    requester = entries.create(
        organization(payload.from_agency), AGENCY_SYSTEM, payload.from_agency
    )
    performer = entries.create(organization(payload.to_agency), AGENCY_SYSTEM, payload.to_agency)
    consent_url = entries.create(
        consent_reference(payload.consent_id, patient_url, r5=r5),
        CONSENT_SYSTEM,
        payload.consent_id,
    )
    additional = payload.additional_services if isinstance(payload, ReferralRequestedV2) else ()
    priority = PRIORITY_TO_FHIR[payload.priority]
    common: JSON = {
        "status": "active",
        "intent": "order",
        "priority": priority,
        "subject": {"reference": patient_url},
        "authoredOn": format_instant(event.time),
        "requester": {"reference": requester},
        "performer": [{"reference": performer}],
        "supportingInfo": [_reference(consent_url, r5=r5)],
    }
    if additional:
        common["requisition"] = {"system": REFERRAL_SYSTEM, "value": referral_id}
    request: JSON = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral_id}],
        **common,
        "code": _service_code(payload.service, r5=r5),
    }
    if payload.pathway_step is not None:
        request["category"] = [
            {"coding": [{"system": PATHWAY_STEP_SYSTEM, "code": payload.pathway_step}]}
        ]
    reasons: list[JSON] = [{"text": payload.reason}] if payload.reason is not None else []
    if isinstance(payload, ReferralRequestedV3) and payload.incident is not None:
        reasons.extend(incident_concepts(payload.incident))
    if reasons:
        request["reason" if r5 else "reasonCode"] = [
            {"concept": reason} if r5 else reason for reason in reasons
        ]
    if payload.narrative is not None:
        request["note"] = [{"text": payload.narrative}]
    request_url = entries.create(request, REFERRAL_SYSTEM, referral_id)
    for number, extra in enumerate(additional, start=2):
        line = f"{referral_id}#{number}"
        entries.create(
            {
                "resourceType": "ServiceRequest",
                "identifier": [{"system": SERVICE_LINE_SYSTEM, "value": line}],
                **common,
                "code": _service_code(extra, r5=r5),
            },
            SERVICE_LINE_SYSTEM,
            line,
        )
    task: JSON = {
        "resourceType": "Task",
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral_id}],
        "status": "requested",
        "intent": "order",
        "priority": priority,
        "code": FULFIL,
        "focus": {"reference": request_url},
        "for": {"reference": patient_url},
        "authoredOn": format_instant(event.time),
        "requester": {"reference": requester},
        "owner": {"reference": performer},
    }
    if payload.due_by is not None:
        task["restriction"] = {"period": {"end": format_instant(payload.due_by)}}
    entries.create(task, REFERRAL_SYSTEM, referral_id)


def _status_changed(
    payload: ReferralStatusChangedV1,
    event: CloudEvent,
    entries: Entries,
    parties: ReferralParties | None,
    *,
    r5: bool,
) -> None:
    task: JSON = {
        "resourceType": "Task",
        "identifier": [{"system": REFERRAL_SYSTEM, "value": payload.referral_id}],
        "status": payload.status.value,
        "intent": "order",
        "code": FULFIL,
        "focus": referral_focus(payload.referral_id),
        "lastModified": format_instant(event.time),
    }
    if parties is not None:
        task["for"] = logical("Patient", SUBJECT_SYSTEM, parties.subject_id)
        task["requester"] = logical("Organization", AGENCY_SYSTEM, parties.from_agency)
        task["owner"] = logical("Organization", AGENCY_SYSTEM, parties.to_agency)
    if payload.business_status is not None:
        task["businessStatus"] = {"text": payload.business_status}
    if payload.status_reason is not None:
        reason: JSON = {"text": payload.status_reason}
        task["statusReason"] = {"concept": reason} if r5 else reason
    if payload.note is not None:
        task["note"] = [{"text": payload.note}]
    entries.update(task, REFERRAL_SYSTEM, payload.referral_id)


def _outcome(payload: ReferralOutcomeReportedV1, entries: Entries) -> None:
    outputs: list[tuple[str, str, object]] = [
        ("outcome", "valueCodeableConcept", {"coding": [_outcome_coding(payload)]}),
        ("occurred-at", "valueDateTime", format_instant(payload.occurred_at)),
    ]
    if payload.next_step_at is not None:
        outputs.append(("next-step-at", "valueDateTime", format_instant(payload.next_step_at)))
    for name, value in (
        ("case-number", payload.case_number),
        ("clinical-note", payload.clinical_note),
        ("note", payload.note),
    ):
        if value is not None:
            outputs.append((name, "valueString", value))
    parameters: JSON = {
        "resourceType": "Parameters",
        "parameter": [_add_output(name, key, value) for name, key, value in outputs],
    }
    entries.patch("Task", parameters, REFERRAL_SYSTEM, payload.referral_id)


def _granted(payload: ConsentGrantedV1, entries: Entries, *, r5: bool) -> None:
    patient_url = entries.create(
        patient(payload.subject_id, None, None), SUBJECT_SYSTEM, payload.subject_id
    )
    recorder = entries.create(organization(payload.recorded_by), AGENCY_SYSTEM, payload.recorded_by)
    consent = consent_grant(payload, patient_url, recorder, entries, r5=r5)
    entries.update(consent, CONSENT_SYSTEM, payload.consent_id)


def _withdrawn(payload: ConsentWithdrawnV1, entries: Entries, *, r5: bool) -> None:
    patient_url = entries.create(
        patient(payload.subject_id, None, None), SUBJECT_SYSTEM, payload.subject_id
    )
    recorder = entries.create(organization(payload.recorded_by), AGENCY_SYSTEM, payload.recorded_by)
    consent = consent_reference(payload.consent_id, patient_url, r5=r5)
    consent["status"] = "inactive"
    ended: JSON = {"end": format_instant(payload.withdrawn_at)}
    if r5:
        consent |= {"period": ended, "controller": [{"reference": recorder}]}
    else:
        consent |= {"provision": {"period": ended}, "organization": [{"reference": recorder}]}
    entries.update(consent, CONSENT_SYSTEM, payload.consent_id)


def _delivery_failed(
    payload: DeliveryFailedV1, event: CloudEvent, entries: Entries, *, r5: bool
) -> None:
    reason: JSON = {"coding": [{"system": FAILURE_SYSTEM, "code": payload.reason.value}]}
    text = f"{payload.failed_event_type} {payload.failed_event_id}: {payload.detail}"
    message: JSON = {
        "resourceType": "Communication",
        "identifier": [{"system": EVENT_SYSTEM, "value": event.id}],
        "status": "completed",
        "category": [{"coding": [{"system": NOTICE_SYSTEM, "code": "delivery-failed"}]}],
        "about": [referral_focus(payload.referral_id)],
        "sent": format_instant(payload.failed_at),
    }
    if r5:
        message |= {
            "reason": [{"concept": reason}],
            "payload": [{"contentCodeableConcept": {"text": text}}],
        }
    else:
        message |= {"reasonCode": [reason], "payload": [{"contentString": text}]}
    entries.create(message, EVENT_SYSTEM, event.id)


def _overdue(payload: ReferralOverdueV1, event: CloudEvent, entries: Entries, *, r5: bool) -> None:
    step = f" on pathway step {payload.pathway_step}" if payload.pathway_step else ""
    text = (
        f"Time limit passed ({payload.limit.value}{step}) at "
        f"{format_instant(payload.deadline)}: {payload.from_agency} to {payload.to_agency}."
    )
    message: JSON = {
        "resourceType": "Communication",
        "identifier": [{"system": EVENT_SYSTEM, "value": event.id}],
        "status": "completed",
        "category": [{"coding": [{"system": NOTICE_SYSTEM, "code": "referral-overdue"}]}],
        "about": [referral_focus(payload.referral_id)],
        "sent": format_instant(payload.detected_at),
    }
    if r5:
        message["payload"] = [{"contentCodeableConcept": {"text": text}}]
    else:
        message["payload"] = [{"contentString": text}]
    entries.create(message, EVENT_SYSTEM, event.id)


def _disclosure_compelled(
    payload: DisclosureCompelledV1 | DisclosureCompelledV2,
    event: CloudEvent,
    entries: Entries,
    *,
    r5: bool,
) -> None:
    categories = ", ".join(category.value for category in payload.categories) or "none"
    text = (
        f"Disclosure compelled by law ({payload.legal_basis.value}: {payload.legal_reference}), "
        f"authorised by {payload.authorising_officer}, to {payload.recipient}; "
        f"data categories: {categories}; inform the survivor by "
        f"{format_instant(payload.inform_survivor_by)}."
    )
    message: JSON = {
        "resourceType": "Communication",
        "identifier": [{"system": EVENT_SYSTEM, "value": event.id}],
        "status": "completed",
        "category": [{"coding": [{"system": NOTICE_SYSTEM, "code": "disclosure-compelled"}]}],
        "about": [referral_focus(payload.referral_id)],
        "sent": format_instant(event.time),
    }
    if r5:
        message["payload"] = [{"contentCodeableConcept": {"text": text}}]
    else:
        message["payload"] = [{"contentString": text}]
    entries.create(message, EVENT_SYSTEM, event.id)


def _legal_step(
    payload: LegalOrderIssuedV1 | LegalOrderDeclinedV1,
    event: CloudEvent,
    entries: Entries,
    *,
    r5: bool,
) -> None:
    """A legal order, or its refusal, as a Communication about the referral."""
    if isinstance(payload, LegalOrderIssuedV1):
        categories = ", ".join(category.value for category in payload.categories)
        text = (
            f"Legal order {event.id} from {event.source}"
            f"{f' ({payload.order_reference})' if payload.order_reference else ''}: disclose "
            f"data categories {categories} to {payload.disclose_to or event.source} by "
            f"{format_instant(payload.respond_by)}."
        )
        if payload.grounds:
            text += f" Grounds: {payload.grounds}"
    else:
        text = f"Legal order {payload.order_id} declined ({payload.reason.value})."
        if payload.explanation:
            text += f" {payload.explanation}"
    message: JSON = {
        "resourceType": "Communication",
        "identifier": [{"system": EVENT_SYSTEM, "value": event.id}],
        "status": "completed",
        "category": [{"coding": [{"system": NOTICE_SYSTEM, "code": event.type.replace(".", "-")}]}],
        "about": [referral_focus(payload.referral_id)],
        "sent": format_instant(event.time),
    }
    if r5:
        message["payload"] = [{"contentCodeableConcept": {"text": text}}]
    else:
        message["payload"] = [{"contentString": text}]
    entries.create(message, EVENT_SYSTEM, event.id)


def _service_code(code: ServiceCode, *, r5: bool) -> JSON:
    concept: JSON = {"coding": service_codings(code), "text": service(code).display}
    return {"concept": concept} if r5 else concept


def _reference(url: str, *, r5: bool) -> JSON:
    return {"reference": {"reference": url}} if r5 else {"reference": url}


def _outcome_coding(payload: ReferralOutcomeReportedV1) -> JSON:
    return {"system": OUTCOME_SYSTEM, "code": payload.outcome.value}


def _add_output(name: str, key: str, value: object) -> JSON:
    """One FHIRPath Patch operation adding a Task.output."""
    return {
        "name": "operation",
        "part": [
            {"name": "type", "valueCode": "add"},
            {"name": "path", "valueString": "Task"},
            {"name": "name", "valueString": "output"},
            {
                "name": "value",
                "part": [
                    {
                        "name": "type",
                        "valueCodeableConcept": {
                            "coding": [{"system": TASK_OUTPUT_SYSTEM, "code": name}]
                        },
                    },
                    {"name": "value", key: value},
                ],
            },
        ],
    }
