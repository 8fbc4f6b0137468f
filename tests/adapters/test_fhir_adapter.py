"""The FHIR adapter: the shared adapter suite for R4 and R5, then its own mapping rules."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from hub.adapters import AdapterContext, NativeInput, UnreadableInput, subject_id
from hub.adapters.fhir import FhirAdapter, FhirVersion, detect_version, read_document
from hub.adapters.fhir._parsing import MAX_DEPTH
from hub.adapters.fhir.mapping import (
    ONWARD_REFERRER_ROLE,
    REFERRAL_SYSTEM,
    SERVICE_LINE_SYSTEM,
    SNOMED_SYSTEM,
    STATUS_FROM_FHIR,
    TASK_OUTPUT_SYSTEM,
)
from hub.contracts import CloudEvent, ReferralStatus, default_registry, new_event
from hub.contracts.examples import EXAMPLES
from hub.errors import AdapterError
from tests.adapters.adapter_suite import AdapterSuite
from tests.adapters.fhir_samples import (
    ADDRESS_LINE,
    CONSENT_ID,
    COURT,
    FAMILY,
    HOSPITAL,
    KEY,
    MRN,
    MRN_SYSTEM,
    PHONE,
    URL_COURT,
    URL_HOSPITAL,
    URL_PATIENT,
    URL_REQUEST,
    URL_TASK,
    carried_by_fhir,
    consent_grant,
    message_bundle,
    referral_bundle,
    service_request,
    status_task,
    with_entry,
)

JSON = dict[str, Any]
ENCODED = (
    ("referral.requested", 1),
    ("referral.requested", 2),
    ("referral.status-changed", 1),
    ("referral.outcome-reported", 1),
    ("consent.granted", 1),
    ("consent.granted", 2),
    ("consent.withdrawn", 1),
)


def adapter(version: str | None = "r4", source: str | None = HOSPITAL) -> FhirAdapter:
    declared = FhirVersion(version) if version is not None else None
    return FhirAdapter(AdapterContext(pseudonym_key=KEY, source=source), fhir_version=declared)


def decode(
    document: JSON, version: str | None = "r4", source: str | None = HOSPITAL
) -> list[CloudEvent]:
    return adapter(version, source).decode(json.dumps(document).encode())


def only(events: Sequence[CloudEvent], event_type: str) -> CloudEvent:
    found = [event for event in events if event.type == event_type]
    assert len(found) == 1, [event.type for event in events]
    return found[0]


def refusal(
    document: JSON, version: str | None = "r4", source: str | None = HOSPITAL
) -> AdapterError:
    with pytest.raises(AdapterError) as caught:
        decode(document, version, source)
    return caught.value


class _FhirSuite(AdapterSuite):
    version: ClassVar[str]

    def create_adapter(self) -> FhirAdapter:
        return adapter(self.version)

    def sample_events(self) -> Sequence[CloudEvent]:
        return [new_event(EXAMPLES[key], source=HOSPITAL) for key in ENCODED]

    def sample_native(self) -> Sequence[NativeInput]:
        return [
            referral_bundle(self.version),
            json.dumps(referral_bundle(self.version, grant=True)).encode(),
            message_bundle(self.version),
            status_task(self.version, "accepted", referral_id="ref-1"),
        ]

    def carried(self, event: CloudEvent) -> dict[str, Any]:
        return carried_by_fhir(event)


class TestFhirAdapterR4(_FhirSuite):
    version = "r4"


class TestFhirAdapterR5(_FhirSuite):
    version = "r5"


# --- referrals ---


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_referral_bundle_becomes_referral_requested(version: str) -> None:
    """ServiceRequest, Task, Patient and Organizations map onto one referral.requested."""
    event = only(decode(referral_bundle(version), version), "referral.requested")
    data = event.data
    assert event.source == HOSPITAL
    assert data["referral_id"] == f"{HOSPITAL}:sr-1"
    assert (data["from_agency"], data["to_agency"]) == (HOSPITAL, COURT)
    assert data["service"] == "court-listening-unit"
    assert data["priority"] == "emergency"  # asap
    assert data["consent_id"] == CONSENT_ID
    assert data["due_by"] == "2026-03-17T09:30:00Z"
    assert data["reason"].startswith("Injuries")
    assert data["narrative"].startswith("Seen at the emergency unit")
    assert data["identity"] == {
        "given_name": "Salma Amal",
        "family_name": FAMILY,
        "birth_date": "1994-05-02",
    }
    assert data["contact"] == {"phone": PHONE, "do_not_contact": False}
    assert event.consentid == CONSENT_ID


def test_subject_id_is_the_keyed_hash_of_the_medical_record_number() -> None:
    """The MRN wins over other identifiers; the pseudonym is sub_ + HMAC, never the MRN."""
    event = only(decode(referral_bundle()), "referral.requested")
    assert event.data["subject_id"] == subject_id(KEY, MRN_SYSTEM, MRN)
    other = FhirAdapter(AdapterContext(pseudonym_key=b"another-key", source=HOSPITAL))
    again = only(other.decode(referral_bundle()), "referral.requested")
    assert again.data["subject_id"] != event.data["subject_id"]


def test_only_name_birth_date_and_telecom_leave_the_patient() -> None:
    """Address, gender and identifiers of the Patient appear nowhere in the events."""
    text = json.dumps([event.structured() for event in decode(referral_bundle())])
    for secret in (ADDRESS_LINE, MRN, "NAT-999", "female"):
        assert secret not in text


def test_the_hub_referral_identifier_names_the_referral() -> None:
    """A ServiceRequest carrying urn:referral-hub:referral keeps that id."""
    bundle = referral_bundle()
    bundle["entry"][4]["resource"]["identifier"] = [{"system": REFERRAL_SYSTEM, "value": "ref-9"}]
    assert only(decode(bundle), "referral.requested").data["referral_id"] == "ref-9"


@pytest.mark.parametrize(
    ("fhir", "hub"),
    [("routine", "routine"), ("urgent", "urgent"), ("asap", "emergency"), ("stat", "emergency")],
)
def test_priorities_map_onto_the_hub_scale(fhir: str, hub: str) -> None:
    """routine/urgent/asap/stat become routine/urgent/emergency/emergency."""
    bundle = referral_bundle()
    bundle["entry"][4]["resource"]["priority"] = fhir
    assert only(decode(bundle), "referral.requested").data["priority"] == hub


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_mapped_snomed_code_names_the_service(version: str) -> None:
    """SNOMED CT 409063005 (counseling) is the hub's psychosocial support."""
    coding = {"coding": [{"system": SNOMED_SYSTEM, "code": "409063005"}]}
    bundle = referral_bundle(version)
    bundle["entry"][4]["resource"] = service_request(version, code=coding)
    data = only(decode(bundle, version), "referral.requested").data
    assert data["service"] == "psychosocial-support"


def test_an_unmapped_code_is_refused_at_the_code_element() -> None:
    """A service the hub does not offer is refused, naming ServiceRequest.code."""
    bundle = referral_bundle()
    bundle["entry"][4]["resource"]["code"] = {"coding": [{"system": SNOMED_SYSTEM, "code": "1"}]}
    error = refusal(bundle)
    assert error.path == "Bundle.entry[4].resource(ServiceRequest).code"
    assert "hub service" in error.reason


def test_a_bser_message_bundle_names_sender_and_receiver_in_its_header() -> None:
    """With no requester or performer, MessageHeader.sender/receiver name the agencies."""
    event = only(decode(message_bundle(), source=None), "referral.requested")
    assert (event.source, event.data["from_agency"], event.data["to_agency"]) == (
        HOSPITAL,
        HOSPITAL,
        COURT,
    )
    assert event.time.isoformat() == "2026-03-14T09:30:00+00:00"


def test_several_service_requests_of_one_requisition_are_one_referral() -> None:
    """ServiceRequests sharing a hub requisition: one referral, further services in order."""
    bundle = referral_bundle()
    main = bundle["entry"][4]["resource"]
    main["identifier"] = [{"system": REFERRAL_SYSTEM, "value": "ref-7"}]
    main["requisition"] = {"system": REFERRAL_SYSTEM, "value": "ref-7"}
    extra = copy.deepcopy(main)
    extra.pop("id")
    extra["identifier"] = [{"system": SERVICE_LINE_SYSTEM, "value": "ref-7#2"}]
    extra["code"] = {"coding": [{"system": "urn:referral-hub:service", "code": "legal-aid"}]}
    data = only(decode(with_entry(bundle, extra)), "referral.requested").data
    assert (data["referral_id"], data["service"], data["additional_services"]) == (
        "ref-7",
        "court-listening-unit",
        ["legal-aid"],
    )


def test_a_referral_without_consent_is_refused() -> None:
    """No Consent reference and none in the Bundle: there is nothing to route under."""
    bundle = referral_bundle()
    del bundle["entry"][3]
    bundle["entry"][3]["resource"].pop("supportingInfo")
    error = refusal(bundle)
    assert error.path == "Bundle.entry[3].resource(ServiceRequest).supportingInfo"
    assert "consent" in error.reason


def test_a_referral_to_no_hub_agency_is_refused_at_performer() -> None:
    """An Organization without a urn:referral-hub:agency identifier names no recipient."""
    bundle = referral_bundle()
    bundle["entry"][1]["resource"]["identifier"] = []
    bundle["entry"][5]["resource"].pop("owner")
    assert refusal(bundle).path == "Bundle.entry[4].resource(ServiceRequest).performer"


def test_without_a_source_or_agency_identifier_the_sender_is_unknown() -> None:
    """Who sends must be known: the caller, --source, or an identified Organization."""
    error = refusal(status_task("r4", "accepted", referral_id="ref-1", owner=None), source=None)
    assert error.path == "Task.owner"


def test_an_unsupported_resource_is_named_with_its_entry() -> None:
    """Content the hub does not take is refused, never silently dropped."""
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    error = refusal(with_entry(referral_bundle(), observation, index=2))
    assert error.path == "Bundle.entry[2].resource(Observation)"
    assert error.reason == "unsupported resource type"


def test_a_structural_error_names_the_fhir_element() -> None:
    """FHIR validation errors carry the element path, entry and resource type included."""
    bundle = referral_bundle()
    bundle["entry"][5]["resource"]["intent"] = None
    error = refusal(bundle)
    assert error.path == "Bundle.entry[5].resource(Task).intent"


def test_errors_do_not_echo_survivor_data() -> None:
    """A refused phone number is named by its element, not repeated in the reason."""
    bundle = referral_bundle()
    bundle["entry"][2]["resource"]["telecom"][0]["value"] = "call 0600-SALMA"
    error = refusal(bundle)
    assert error.path is not None
    assert error.path.endswith("telecom")
    assert "SALMA" not in str(error)


def test_contact_preferences_travel_as_the_hub_extension() -> None:
    """do-not-contact and the safe channel come from the contact-preferences extension."""
    bundle = referral_bundle()
    bundle["entry"][2]["resource"]["extension"] = [
        {
            "url": "https://referral-hub.org/fhir/StructureDefinition/contact-preferences",
            "extension": [
                {"url": "doNotContact", "valueBoolean": True},
                {"url": "safeChannel", "valueCode": "through-referring-agency"},
            ],
        }
    ]
    contact = only(decode(bundle), "referral.requested").data["contact"]
    assert contact["do_not_contact"] is True
    assert contact["safe_channel"] == "through-referring-agency"


# --- consent ---


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_consent_with_mappable_provisions_is_granted_before_the_referral(version: str) -> None:
    """The Consent becomes consent.granted, first, and the referral travels under it."""
    events = decode(referral_bundle(version, grant=True), version)
    assert [event.type for event in events] == ["consent.granted", "referral.requested"]
    granted = events[0].data
    assert granted["consent_id"] == CONSENT_ID == events[1].data["consent_id"]
    assert granted["recorded_by"] == HOSPITAL
    assert granted["granted_by"] == "survivor"
    assert granted["subject_id"] == events[1].data["subject_id"]
    assert granted["scope"] == [
        {
            "recipient_agency": COURT,
            "purposes": ["justice"],
            "categories": ["narrative", "identity"],
            "may_refer_onward": False,
        }
    ]
    assert granted["valid_from"] == "2026-03-14T09:00:00Z"


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_denying_consent_is_refused(version: str) -> None:
    """A deny is never read as a permit, nor dropped."""
    bundle = referral_bundle(version)
    bundle["entry"][3]["resource"] = consent_grant(version, deny=True)
    error = refusal(bundle, version)
    assert "den" in error.reason


def _onward(url: str) -> dict[str, Any]:
    system, code = ONWARD_REFERRER_ROLE
    return {"role": {"coding": [{"system": system, "code": code}]}, "reference": {"reference": url}}


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_consent_names_who_may_refer_her_onward(version: str) -> None:
    """An onward-referrer actor beside a recipient lets it refer onward; alone it grants nothing."""
    bundle = referral_bundle(version, grant=True)
    consent = consent_grant(version)
    provisions = consent["provision"] if version == "r5" else consent["provision"]["provision"]
    provisions[0]["actor"] += [_onward(URL_COURT), _onward(URL_HOSPITAL)]
    bundle["entry"][3]["resource"] = consent

    granted = only(decode(bundle, version), "consent.granted")

    assert granted.version == 2
    assert granted.data["scope"] == [
        {
            "recipient_agency": COURT,
            "purposes": ["justice"],
            "categories": ["narrative", "identity"],
            "may_refer_onward": True,
        }
    ]


# --- Task updates ---


@pytest.mark.parametrize(("fhir", "hub"), sorted(STATUS_FROM_FHIR.items()))
def test_task_status_maps_onto_referral_status(fhir: str, hub: ReferralStatus) -> None:
    """Shared codes are the same; ready is an acceptance; entered-in-error a cancellation."""
    if fhir == "requested":
        pytest.skip("a requested Task opens a referral; it is no update")
    event = only(decode(status_task("r4", fhir, referral_id="ref-1")), "referral.status-changed")
    assert event.data["status"] == hub.value
    if fhir == "entered-in-error":
        assert event.data["status_reason"] == "entered in error"


def test_a_draft_task_is_refused_with_a_reason() -> None:
    """A draft is not yet a request; the reason says so."""
    error = refusal(status_task("r4", "draft", referral_id="ref-1"))
    assert (error.path, "draft" in error.reason) == ("Task.status", True)


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_task_business_status_reason_and_note_travel(version: str) -> None:
    """businessStatus, statusReason and note fill the status event."""
    reason: JSON = {"text": "no capacity"}
    task = status_task(
        version,
        "rejected",
        referral_id="ref-1",
        businessStatus={"text": "waiting-list"},
        statusReason={"concept": reason} if version == "r5" else reason,
        note=[{"text": "Call back next week."}],
    )
    data = only(decode(task, version), "referral.status-changed").data
    assert data == {
        "referral_id": "ref-1",
        "status": "rejected",
        "business_status": "waiting-list",
        "status_reason": "no capacity",
        "note": "Call back next week.",
    }


def test_task_outputs_in_the_hub_system_report_an_outcome() -> None:
    """A completed Task with an outcome output gives a status change and an outcome."""
    task = status_task("r4", "completed", referral_id="ref-1", outcome="case-opened")
    events = decode(task)
    assert [event.type for event in events] == [
        "referral.status-changed",
        "referral.outcome-reported",
    ]
    outcome = events[1].data
    assert (outcome["outcome"], outcome["domain"], outcome["occurred_at"]) == (
        "case-opened",
        "justice",
        "2026-03-20T15:00:00Z",
    )


def test_other_task_outputs_are_left_alone() -> None:
    """Gravity-style outputs pointing at a Procedure carry nothing the hub keeps."""
    task = status_task(
        "r4",
        "completed",
        referral_id="ref-1",
        output=[
            {
                "type": {"coding": [{"system": "http://example.org/codes", "code": "activity"}]},
                "valueReference": {"reference": "Procedure/p1"},
            }
        ],
    )
    assert [event.type for event in decode(task)] == ["referral.status-changed"]


def test_an_unknown_hub_output_is_refused() -> None:
    """A typo in the hub's own output codes is an error, not a silent loss."""
    output = [
        {"type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "outcom"}]}, "valueString": "x"}
    ]
    error = refusal(status_task("r4", "completed", referral_id="ref-1", output=output))
    assert error.path == "Task.output[0].type"


def test_a_task_focusing_a_service_request_by_literal_id_names_the_senders_referral() -> None:
    """Without the hub's identifier, the referral is the sender's ServiceRequest id."""
    task = status_task("r4", "accepted", referral_id="x")
    task.pop("identifier")
    task["focus"] = {"reference": "ServiceRequest/sr-1"}
    event = only(decode(task), "referral.status-changed")
    assert event.data["referral_id"] == f"{HOSPITAL}:sr-1"


def test_a_task_that_is_not_a_fulfilment_is_refused() -> None:
    """A patient-facing Task (make contact, questionnaire) is no referral."""
    task = status_task("r4", "completed", referral_id="ref-1")
    task["code"] = {"coding": [{"system": "http://example.org/codes", "code": "make-contact"}]}
    assert refusal(task).path == "Task.code"


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_communication_about_the_task_adds_a_note(version: str) -> None:
    """Communication payload text joins the Task's notes (contentString in R4)."""
    task = status_task(version, "accepted", referral_id="ref-1", note=[{"text": "Accepted."}])
    payload: JSON = (
        {"contentCodeableConcept": {"text": "Appointment on Monday."}}
        if version == "r5"
        else {"contentString": "Appointment on Monday."}
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": URL_TASK, "resource": task},
            {
                "fullUrl": URL_REQUEST,
                "resource": {
                    "resourceType": "Communication",
                    "status": "completed",
                    "partOf": [{"reference": URL_TASK}],
                    "payload": [payload],
                },
            },
        ],
    }
    data = only(decode(bundle, version), "referral.status-changed").data
    assert data["note"] == "Accepted.\n\nAppointment on Monday."


# --- versions and documents ---


def test_the_version_is_told_from_the_document_when_not_given() -> None:
    """R5-only elements say R5; R4-only ones say R4."""
    assert detect_version(referral_bundle("r5"), None) is FhirVersion.R5
    assert detect_version(referral_bundle("r4"), None) is FhirVersion.R4
    events = decode(referral_bundle("r5"), version=None)
    assert only(events, "referral.requested").data["service"] == "court-listening-unit"


def test_a_document_read_as_the_wrong_version_is_refused_with_its_path() -> None:
    """R5 JSON declared as R4 fails R4 validation at the element that changed."""
    error = refusal(referral_bundle("r5"), version="r4")
    assert error.path is not None
    assert error.path.startswith("Bundle.entry[3].resource(Consent)")


@pytest.mark.parametrize(
    "document",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "searchset", "entry": []},
        {"resourceType": "Bundle", "type": "transaction", "entry": []},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": "Task/1"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "message",
            "entry": [{"resource": {"resourceType": "Patient"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Nope"}}],
        },
        {"resourceType": "Task"},
        {"resourceType": 42},
    ],
)
def test_documents_without_referral_content_are_refused(document: JSON) -> None:
    """Wrong resource types and empty Bundles fail with AdapterError, nothing else."""
    assert refusal(document).reason


def test_decode_accepts_a_parsed_mapping_as_well_as_bytes() -> None:
    """The HTTP layer may hand over bytes, a caller a parsed document: same events."""
    as_bytes = adapter().decode(json.dumps(referral_bundle()).encode())
    as_mapping = adapter().decode(referral_bundle())
    assert [e.id for e in as_bytes] == [e.id for e in as_mapping]


def _nested(depth: int, innermost: object) -> JSON:
    """A Task whose deepest value, ``innermost``, sits ``depth`` levels down (the root is 1)."""
    value = innermost
    for level in range(depth - 1, 1, -1):
        value = [value] if level % 2 else {"a": value}
    return {"resourceType": "Task", "a": value}


@pytest.mark.parametrize("innermost", [1, "text", None, {}, []])
@pytest.mark.parametrize("as_bytes", [True, False])
def test_documents_nest_to_the_depth_limit_and_no_deeper(innermost: object, as_bytes: bool) -> None:
    """A value on level MAX_DEPTH is read; one a level deeper is refused before any model."""

    def read(document: JSON) -> dict[str, Any]:
        return read_document(json.dumps(document).encode() if as_bytes else document)

    assert read(_nested(MAX_DEPTH, innermost))["resourceType"] == "Task"
    with pytest.raises(UnreadableInput, match="deeper"):
        read(_nested(MAX_DEPTH + 1, innermost))


# --- spellings: JSON as sent reads as the FHIR model reads it ---


def outcome(native: NativeInput, version: str | None = "r4") -> list[Any] | tuple[str, str | None]:
    """What decoding gives, comparable: the events in full, or the refusal."""
    try:
        events = adapter(version).decode(native)
    except AdapterError as exc:
        return exc.reason, exc.path
    return [event.structured() for event in events]


def assert_read_as_the_model_reads(document: JSON, version: str | None = "r4") -> None:
    """Bytes (read as sent) and the parsed mapping (read from the model's JSON) agree."""
    assert outcome(json.dumps(document).encode(), version) == outcome(document, version)


@pytest.mark.parametrize(
    "spelling",
    ["2026-03-15T10:00:00+00:00", "2026-03-15T10:00:00-00:00", "2026-03-15T10:00:00.000Z"],
)
@pytest.mark.parametrize("element", ["meta", "lastModified"])
def test_a_timestamp_version_counts_in_the_models_spelling(spelling: str, element: str) -> None:
    """meta.lastUpdated and lastModified name one version however UTC is spelt."""

    def task(instant: str) -> JSON:
        value: Any = {"lastUpdated": instant} if element == "meta" else instant
        return status_task("r4", "accepted", referral_id="ref-1", **{element: value})

    assert decode(task(spelling))[0].id == decode(task("2026-03-15T10:00:00Z"))[0].id
    assert_read_as_the_model_reads(task(spelling))
    assert_read_as_the_model_reads(task(spelling.replace("10:00:00", "11:30:00.25+01:30")))


def _patient_entry(bundle: JSON) -> JSON:
    resource: JSON = bundle["entry"][2]["resource"]
    return resource


def _with_preference(value: object) -> JSON:
    bundle = referral_bundle()
    _patient_entry(bundle)["extension"] = [
        {
            "url": "https://referral-hub.org/fhir/StructureDefinition/contact-preferences",
            "extension": [{"url": "doNotContact", "valueBoolean": value}],
        }
    ]
    return bundle


def _with_note_attachment(data: str) -> JSON:
    return with_entry(
        referral_bundle(),
        {
            "resourceType": "Communication",
            "status": "completed",
            "basedOn": [{"reference": URL_REQUEST}],
            "payload": [{"contentAttachment": {"contentType": "text/plain", "data": data}}],
        },
    )


def _with_json_text(entry: int, element: str) -> JSON:
    bundle = referral_bundle()
    resource = bundle["entry"][entry]["resource"]
    resource[element] = json.dumps(resource[element])
    return bundle


def _with_empty(entry: int, element: str) -> JSON:
    bundle = referral_bundle()
    bundle["entry"][entry]["resource"][element] = []
    return bundle


def _with_value(entry: int, element: str, value: object) -> JSON:
    bundle = referral_bundle()
    bundle["entry"][entry]["resource"][element] = value
    return bundle


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(_with_preference("true"), id="boolean-as-text"),
        pytest.param(_with_preference(1), id="boolean-as-number"),
        pytest.param(_with_note_attachment("QXQgdGhl IHNoZWx0ZXIu"), id="base64-with-a-space"),
        pytest.param(_with_note_attachment("QXQgdGhlIHNoZWx0ZXIu"), id="base64"),
        pytest.param(_with_json_text(4, "code"), id="object-as-json-text"),
        pytest.param(_with_json_text(2, "identifier"), id="array-as-json-text"),
        pytest.param(_with_empty(4, "note"), id="empty-list"),
        pytest.param(_with_empty(2, "identifier"), id="empty-identifiers"),
        pytest.param(_with_value(4, "authoredOn", 1773568800), id="number-for-a-date"),
        pytest.param(_with_value(4, "priority", None), id="null"),
        pytest.param(_with_value(2, "birthDate", 19940502), id="number-for-a-day"),
    ],
)
def test_odd_but_valid_spellings_decode_as_the_model_reads_them(document: JSON) -> None:
    """What the FHIR model accepts in another spelling gives what its own JSON gives."""
    assert_read_as_the_model_reads(document)


def test_a_boolean_spelt_as_text_is_read_as_the_model_reads_it() -> None:
    """The model takes "true" for true; so does the adapter, as before."""
    contact = only(decode(_with_preference("true")), "referral.requested").data["contact"]
    assert contact["do_not_contact"] is True


def test_an_attachment_in_base64_with_spaces_is_a_note() -> None:
    """The model reads base64 with whitespace; the note arrives whole."""
    data = only(decode(_with_note_attachment("QXQgdGhl IHNoZWx0ZXIu")), "referral.requested").data
    assert data["narrative"].endswith("At the shelter.")


def test_an_empty_list_is_no_element_at_all() -> None:
    """An empty note list reads as no note, as the model drops it."""
    bundle = referral_bundle()
    del bundle["entry"][4]["resource"]["note"]
    without = only(decode(bundle), "referral.requested")
    empty = only(decode(_with_empty(4, "note")), "referral.requested")
    assert (empty.id, empty.data) == (without.id, without.data)


def test_event_ids_differ_by_sender_and_version() -> None:
    """The same resource from another agency, or at another version, is another event."""
    task = status_task("r4", "accepted", referral_id="ref-1")
    first = decode(task)[0].id
    assert decode(task, source=COURT)[0].id != first
    task["meta"] = {"versionId": "2"}
    assert decode(task)[0].id != first


def test_decoded_events_validate_against_the_registry() -> None:
    """Every event the samples give passes the registry, subject and consentid included."""
    registry = default_registry()
    for document in (
        referral_bundle(grant=True),
        message_bundle(),
        status_task("r5", "accepted", referral_id="r"),
    ):
        for event in decode(document, version=None):
            registry.parse(event)


def test_references_resolve_by_type_and_id_as_well_as_full_url() -> None:
    """Literal Type/id references find their entry when full URLs are absolute."""
    bundle = referral_bundle()
    for index, (kind, rid) in enumerate(
        [
            ("Organization", "h"),
            ("Organization", "c"),
            ("Patient", "p"),
            ("Consent", "k"),
            ("ServiceRequest", "sr-1"),
            ("Task", "t"),
        ]
    ):
        resource = bundle["entry"][index]["resource"]
        resource["id"] = rid
        bundle["entry"][index]["fullUrl"] = f"https://his.example/fhir/{kind}/{rid}"
    text = json.dumps(bundle)
    for old, new in [
        (URL_HOSPITAL, "Organization/h"),
        (URL_COURT, "Organization/c"),
        (URL_PATIENT, "Patient/p"),
        ("urn:uuid:6f1c4a52-0b7e-4d1a-9a3c-000000000004", "Consent/k"),
        (URL_REQUEST, "ServiceRequest/sr-1"),
    ]:
        text = text.replace(f'"reference": "{old}"', f'"reference": "{new}"')
    data = only(adapter().decode(text.encode()), "referral.requested").data
    assert (data["to_agency"], data["consent_id"]) == (COURT, CONSENT_ID)
