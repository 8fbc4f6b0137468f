"""Encoding: canonical events as transaction Bundles a hospital's FHIR server applies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4_model

from hub.adapters.fhir import FhirVersion, ReferralParties, encode_event
from hub.adapters.fhir.mapping import (
    AGENCY_SYSTEM,
    CONSENT_SYSTEM,
    EVENT_SYSTEM,
    REFERRAL_SYSTEM,
    SUBJECT_SYSTEM,
)
from hub.contracts import CloudEvent, default_registry, new_event
from hub.contracts.events import (
    ContactPreferences,
    DeliveryFailedV1,
    EventPayload,
    FailureReason,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
    SafeChannel,
)
from hub.contracts.examples import EXAMPLES
from hub.contracts.status import ReferralStatus
from hub.errors import AdapterError

JSON = dict[str, Any]
VERSIONS = [FhirVersion.R4, FhirVersion.R5]
SOURCE = "chu-ibn-rochd"


def event_of(payload: EventPayload, source: str = SOURCE) -> CloudEvent:
    return new_event(payload, source=source)


def encode(event: CloudEvent, version: FhirVersion, **kwargs: Any) -> JSON:
    return encode_event(event, version, registry=default_registry(), **kwargs)


def resources(bundle: JSON, kind: str) -> list[JSON]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def referral(**changes: Any) -> ReferralRequestedV2:
    example = EXAMPLES[("referral.requested", 2)]
    assert isinstance(example, ReferralRequestedV2)
    return example.model_copy(update=changes)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("key", sorted(k for k in EXAMPLES if k[0] != "disclosure.compelled"))
def test_every_encoded_bundle_is_valid_for_its_version(
    version: FhirVersion, key: tuple[str, int]
) -> None:
    """The fhir.resources Bundle model of the target version accepts what is written."""
    bundle = encode(event_of(EXAMPLES[key]), version)
    model = r5_model("Bundle") if version is FhirVersion.R5 else r4_model("Bundle")
    model.model_validate(bundle)
    assert bundle["type"] == "transaction"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_bundle_names_the_event_for_de_duplication(version: FhirVersion) -> None:
    """Bundle.identifier carries the event id; the receiver de-duplicates on it."""
    event = event_of(EXAMPLES[("referral.status-changed", 1)])
    assert encode(event, version)["identifier"] == {"system": EVENT_SYSTEM, "value": event.id}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_referral_is_created_conditionally_resource_by_resource(version: FhirVersion) -> None:
    """Each entry is a POST with ifNoneExist on the hub's identifier: redelivery is harmless."""
    bundle = encode(event_of(referral()), version)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == [
        "Patient",
        "Organization",
        "Organization",
        "Consent",
        "ServiceRequest",
        "ServiceRequest",
        "Task",
    ]
    for item in bundle["entry"]:
        assert item["request"]["method"] == "POST"
        assert item["request"]["ifNoneExist"].startswith("identifier=urn:referral-hub:")
    task = resources(bundle, "Task")[0]
    assert task["status"] == "requested"
    assert task["restriction"]["period"]["end"] == "2026-03-17T09:30:00Z"
    consent = resources(bundle, "Consent")[0]
    assert consent["identifier"] == [{"system": CONSENT_SYSTEM, "value": "cns-2026-000087"}]


def test_the_patient_is_only_a_pseudonym_when_identity_and_contact_are_withheld() -> None:
    """A redacted referral writes a Patient with the subject identifier and nothing else."""
    event = event_of(referral(identity=None, contact=None))
    patient = resources(encode(event, FhirVersion.R4), "Patient")[0]
    assert patient == {
        "resourceType": "Patient",
        "identifier": [{"system": SUBJECT_SYSTEM, "value": event.data["subject_id"]}],
    }


def test_identity_and_contact_fill_name_birth_date_telecom_and_preferences() -> None:
    """Disclosed identity and contact become name, birthDate, telecom and the extension."""
    contact = ContactPreferences(
        do_not_contact=True, safe_channel=SafeChannel.SMS, phone="+212 600 000 111"
    )
    patient = resources(encode(event_of(referral(contact=contact)), FhirVersion.R5), "Patient")[0]
    assert patient["name"] == [{"use": "official", "family": "B.", "given": ["Salma"]}]
    assert patient["birthDate"] == "1994-05-02"
    assert patient["telecom"] == [{"system": "phone", "value": "+212 600 000 111"}]
    parts = {p["url"]: p for p in patient["extension"][0]["extension"]}
    assert parts["doNotContact"]["valueBoolean"] is True
    assert parts["safeChannel"]["valueCode"] == "sms"


def test_categories_fhir_does_not_carry_are_not_written() -> None:
    """Safety risk, medical, legal and evidence have no place in these resources."""
    text = str(encode(event_of(referral()), FhirVersion.R4))
    for marker in ("Partner has threatened", "Contusions", "cert-88412", "TPI-CASA"):
        assert marker not in text


@pytest.mark.parametrize("version", VERSIONS)
def test_a_status_change_is_a_conditional_put_of_the_task(version: FhirVersion) -> None:
    """PUT Task?identifier=urn:referral-hub:referral|<id>, with the parties when known."""
    payload = ReferralStatusChangedV1(
        referral_id="ref 1/\u00e9", status=ReferralStatus.REJECTED, status_reason="no capacity"
    )
    parties = ReferralParties("chu-ibn-rochd", "court-x", "sub_" + "a" * 32)
    bundle = encode(event_of(payload, "court-x"), version, parties=parties)
    (item,) = bundle["entry"]
    assert item["request"] == {
        "method": "PUT",
        "url": "Task?identifier=urn:referral-hub:referral|ref%201%2F%C3%A9",
    }
    task = item["resource"]
    assert task["status"] == "rejected"
    assert task["owner"]["identifier"] == {"system": AGENCY_SYSTEM, "value": "court-x"}
    assert task["for"]["identifier"]["value"] == parties.subject_id
    reason = task["statusReason"]["concept"] if version is FhirVersion.R5 else task["statusReason"]
    assert reason == {"text": "no capacity"}


def test_without_parties_the_task_carries_only_the_event() -> None:
    """No requester, owner or patient is invented when the hub was not told them."""
    event = event_of(EXAMPLES[("referral.status-changed", 1)])
    task = encode(event, FhirVersion.R4)["entry"][0]["resource"]
    assert {"requester", "owner", "for"}.isdisjoint(task)
    assert task["focus"]["identifier"] == {"system": REFERRAL_SYSTEM, "value": "ref-2026-000142"}


def test_an_outcome_is_a_fhirpath_patch_adding_task_outputs() -> None:
    """An outcome says nothing of status, so it patches the Task rather than replacing it."""
    event = event_of(EXAMPLES[("referral.outcome-reported", 1)])
    (item,) = encode(event, FhirVersion.R4)["entry"]
    assert item["request"]["method"] == "PATCH"
    assert item["resource"]["resourceType"] == "Parameters"
    names = [
        part["part"][0]["valueCodeableConcept"]["coding"][0]["code"]
        for op in item["resource"]["parameter"]
        for part in op["part"]
        if part["name"] == "value"
    ]
    assert names == ["outcome", "occurred-at", "next-step-at", "case-number"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_delivery_failure_is_a_communication_about_the_referral(version: FhirVersion) -> None:
    """The referrer hears of a failed delivery as a Communication with the reason code."""
    notice = DeliveryFailedV1(
        referral_id="ref-1",
        failed_event_id="e-1",
        failed_event_type="referral.requested",
        recipient="court-x",
        reason=FailureReason.CONSENT_MISSING,
        detail="no consent on record",
        failed_at=EXAMPLES[("referral.outcome-reported", 1)].occurred_at,  # type: ignore[attr-defined]
    )
    (item,) = encode(event_of(notice, "referral-hub"), version)["entry"]
    message = item["resource"]
    assert message["resourceType"] == "Communication"
    assert message["about"][0]["identifier"]["value"] == "ref-1"


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_a_compelled_disclosure_reaches_a_hospital_as_a_communication(
    version: FhirVersion,
) -> None:
    """The override is a Communication stating the legal basis, tagged with its event type."""
    event = event_of(EXAMPLES[("disclosure.compelled", 1)])
    bundle = encode(event, version)
    (entry,) = bundle["entry"]
    message = entry["resource"]
    assert message["resourceType"] == "Communication"
    assert "child-at-risk" in json.dumps(message["payload"])
    assert bundle["meta"]["tag"][0]["code"] == "disclosure.compelled"
    assert bundle["identifier"]["value"] == event.id


def test_an_event_that_breaks_its_contract_is_refused() -> None:
    """encode validates first: a broken event is an AdapterError naming the contract."""
    event = event_of(EXAMPLES[("referral.status-changed", 1)])
    broken = event.with_data({**event.data, "status": "lost"})
    with pytest.raises(AdapterError, match="contract"):
        encode(broken, FhirVersion.R4)


def test_a_pathway_step_that_is_no_fhir_code_is_refused_at_encoding() -> None:
    """A value the FHIR code type cannot hold fails the version's model, with its path."""
    event = event_of(referral(pathway_step=" two  spaces "))
    with pytest.raises(AdapterError) as caught:
        encode(event, FhirVersion.R4)
    assert caught.value.path is not None
    assert "category" in caught.value.path
