"""FHIR documents as a hospital system would send them, R4 and R5, for the tests.

Shaped after the HL7 guides the adapter follows: a Gravity SDOH-style
transaction Bundle (ServiceRequest + Task for referral management), a
BSeR-style message Bundle (MessageHeader first, its focus the Task), and Task
updates. Every person in them is invented.
"""

from __future__ import annotations

import copy
from typing import Any

from hub.adapters.fhir.mapping import (
    AGENCY_SYSTEM,
    CONSENT_SYSTEM,
    DATA_CATEGORY_SYSTEM,
    OUTCOME_SYSTEM,
    PARTICIPATION_SYSTEM,
    PURPOSE_SYSTEM,
    REFERRAL_SYSTEM,
    SERVICE_SYSTEM,
    TASK_CODE_SYSTEM,
    TASK_OUTPUT_SYSTEM,
)
from hub.contracts import CloudEvent

JSON = dict[str, Any]

KEY = b"test-pseudonym-key"
HOSPITAL = "chu-ibn-rochd"
COURT = "tpi-casablanca-listening-unit"
SHELTER = "shelter-casa"
MRN_SYSTEM = "http://chu-ibn-rochd.example/mrn"
MRN = "MRN-0042"
CONSENT_ID = "cns-2026-000087"
PHONE = "+212 600 000 111"
FAMILY = "Bennani-Test"
ADDRESS_LINE = "12 Rue Imaginaire"

URL_HOSPITAL = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000001"
URL_COURT = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000002"
URL_PATIENT = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000003"
URL_CONSENT = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000004"
URL_REQUEST = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000005"
URL_TASK = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000006"
URL_HEADER = "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000007"


def entry(url: str, resource: JSON, method: str = "POST") -> JSON:
    return {
        "fullUrl": url,
        "resource": resource,
        "request": {"method": method, "url": resource["resourceType"]},
    }


def organization(agency: str, name: str) -> JSON:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": AGENCY_SYSTEM, "value": agency}],
        "name": name,
    }


def patient() -> JSON:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "http://national-id.example", "value": "NAT-999", "use": "official"},
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": MRN_SYSTEM,
                "value": MRN,
            },
        ],
        "name": [{"use": "official", "family": FAMILY, "given": ["Salma", "Amal"]}],
        "gender": "female",
        "birthDate": "1994-05-02",
        "telecom": [{"system": "phone", "value": PHONE, "use": "mobile"}],
        "address": [{"line": [ADDRESS_LINE], "city": "Casablanca"}],
    }


def consent_reference(version: str) -> JSON:
    resource: JSON = {
        "resourceType": "Consent",
        "identifier": [{"system": CONSENT_SYSTEM, "value": CONSENT_ID}],
        "status": "active",
    }
    if version == "r5":
        return resource | {"subject": {"reference": URL_PATIENT}}
    return resource | {
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": URL_PATIENT},
    }


def consent_grant(version: str, *, deny: bool = False) -> JSON:
    """A Consent letting the court listening unit have her narrative and identity."""
    resource = consent_reference(version)
    permit: JSON = {
        "actor": [
            {
                "role": {"coding": [{"system": PARTICIPATION_SYSTEM, "code": "IRCP"}]},
                "reference": {"reference": URL_COURT},
            }
        ],
        "purpose": [{"system": PURPOSE_SYSTEM, "code": "justice"}],
        "securityLabel": [
            {"system": DATA_CATEGORY_SYSTEM, "code": "narrative"},
            {"system": DATA_CATEGORY_SYSTEM, "code": "identity"},
        ],
    }
    period = {"start": "2026-03-14T09:00:00Z"}
    if version == "r5":
        return resource | {
            "decision": "deny" if deny else "permit",
            "period": period,
            "grantor": [{"reference": URL_PATIENT}],
            "controller": [{"reference": URL_HOSPITAL}],
            "provision": [permit],
        }
    return resource | {
        "dateTime": "2026-03-14T09:00:00Z",
        "performer": [{"reference": URL_PATIENT}],
        "organization": [{"reference": URL_HOSPITAL}],
        "provision": {
            "type": "deny" if deny else "permit",
            "period": period,
            "provision": [{"type": "permit", **permit}],
        },
    }


def service_request(version: str, *, code: JSON | None = None) -> JSON:
    concept = code or {
        "coding": [{"system": SERVICE_SYSTEM, "code": "court-listening-unit"}],
        "text": "Court listening unit",
    }
    reason: JSON = {"text": "Injuries from intimate partner violence; wishes to file a complaint."}
    resource: JSON = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "active",
        "intent": "order",
        "priority": "asap",
        "subject": {"reference": URL_PATIENT},
        "authoredOn": "2026-03-14T09:30:00Z",
        "requester": {"reference": URL_HOSPITAL},
        "performer": [{"reference": URL_COURT}],
        "note": [{"text": "Seen at the emergency unit after an assault at home."}],
    }
    if version == "r5":
        return resource | {
            "code": {"concept": concept},
            "reason": [{"concept": reason}],
            "supportingInfo": [{"reference": {"reference": URL_CONSENT}}],
        }
    return resource | {
        "code": concept,
        "reasonCode": [reason],
        "supportingInfo": [{"reference": URL_CONSENT}],
    }


def referral_task(status: str = "requested") -> JSON:
    return {
        "resourceType": "Task",
        "id": "task-1",
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {"reference": URL_REQUEST},
        "for": {"reference": URL_PATIENT},
        "authoredOn": "2026-03-14T09:30:00Z",
        "requester": {"reference": URL_HOSPITAL},
        "owner": {"reference": URL_COURT},
        "restriction": {"period": {"end": "2026-03-17T09:30:00Z"}},
    }


def referral_bundle(version: str = "r4", *, grant: bool = False) -> JSON:
    """A transaction Bundle opening one referral, Gravity SDOH style."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(URL_HOSPITAL, organization(HOSPITAL, "CHU Ibn Rochd")),
            entry(URL_COURT, organization(COURT, "Listening unit")),
            entry(URL_PATIENT, patient()),
            entry(URL_CONSENT, consent_grant(version) if grant else consent_reference(version)),
            entry(URL_REQUEST, service_request(version)),
            entry(URL_TASK, referral_task()),
        ],
    }


def message_bundle(version: str = "r4") -> JSON:
    """The same referral as a BSeR-style message: MessageHeader first, focus the Task."""
    endpoint = "endpointUrl" if version == "r5" else "endpoint"
    header: JSON = {
        "resourceType": "MessageHeader",
        "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "I12"},
        "destination": [
            {endpoint: "https://hub.example/fhir", "receiver": {"reference": URL_COURT}}
        ],
        "sender": {"reference": URL_HOSPITAL},
        "source": {endpoint: "https://his.chu.example/fhir"},
        "focus": [{"reference": URL_TASK}],
    }
    request = service_request(version)
    del request["requester"], request["performer"]
    task = referral_task()
    del task["requester"], task["owner"]
    return {
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": "2026-03-14T09:31:00Z",
        "entry": [
            {"fullUrl": URL_HEADER, "resource": header},
            {"fullUrl": URL_TASK, "resource": task},
            {"fullUrl": URL_REQUEST, "resource": request},
            {"fullUrl": URL_PATIENT, "resource": patient()},
            {"fullUrl": URL_CONSENT, "resource": consent_reference(version)},
            {"fullUrl": URL_HOSPITAL, "resource": organization(HOSPITAL, "CHU Ibn Rochd")},
            {"fullUrl": URL_COURT, "resource": organization(COURT, "Listening unit")},
        ],
    }


def status_task(
    version: str,
    status: str,
    *,
    referral_id: str,
    task_id: str = "task-1",
    outcome: str | None = None,
    **elements: Any,
) -> JSON:
    """A Task update for a referral the hub named, as the agency handling it sends it."""
    task: JSON = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral_id}],
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {
            "type": "ServiceRequest",
            "identifier": {"system": REFERRAL_SYSTEM, "value": referral_id},
        },
        "owner": {"type": "Organization", "identifier": {"system": AGENCY_SYSTEM, "value": COURT}},
        "lastModified": "2026-03-15T10:00:00Z",
        **elements,
    }
    if outcome is not None:
        task["output"] = [
            {
                "type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "outcome"}]},
                "valueCodeableConcept": {"coding": [{"system": OUTCOME_SYSTEM, "code": outcome}]},
            },
            {
                "type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "occurred-at"}]},
                "valueDateTime": "2026-03-20T15:00:00Z",
            },
        ]
    del version  # Task updates are spelled alike in R4 and R5
    return task


def with_entry(bundle: JSON, resource: JSON, index: int | None = None) -> JSON:
    """A copy of ``bundle`` with one more entry (at ``index``, else last)."""
    changed = copy.deepcopy(bundle)
    new = {"fullUrl": "urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-0000000000ff", "resource": resource}
    entries = changed["entry"]
    entries.insert(len(entries) if index is None else index, new)
    return changed


def carried_by_fhir(event: CloudEvent) -> dict[str, Any]:
    """The part of an event's data the FHIR adapter carries (see the mapping tables).

    Not carried: a referral's safety risk, medical, legal and evidence
    categories and the national id; a withdrawal's reason. Identity with nothing
    FHIR carries in it is no identity at all.
    """
    data = dict(event.data)
    if event.type == "referral.requested":
        for name in ("safety_risk", "medical", "legal", "evidence"):
            data.pop(name, None)
        identity = {
            k: v for k, v in (data.pop("identity", None) or {}).items() if k != "national_id"
        }
        if identity:
            data["identity"] = identity
        if not data.get("additional_services"):
            data.pop("additional_services", None)
    if event.type == "consent.withdrawn":
        data.pop("reason", None)
    return data
