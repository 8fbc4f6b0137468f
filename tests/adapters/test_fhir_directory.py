"""The FHIR adapter names agencies and codes the way an EHR does: aliases, code maps, contained."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hub.adapters import AdapterContext
from hub.adapters.directory import Directory
from hub.adapters.fhir import FhirAdapter
from hub.adapters.fhir.mapping import AGENCY_SYSTEM, SERVICE_SYSTEM
from hub.config import AgencyConfig
from hub.config.code_maps import CodeMapEntry
from hub.contracts import CloudEvent
from hub.contracts.vocabulary import SNOMED_SYSTEM, all_services
from hub.errors import AdapterError
from tests.adapters.fhir_samples import (
    COURT,
    HOSPITAL,
    KEY,
    TASK_CODE_SYSTEM,
    consent_reference,
    patient,
)
from tests.adapters.test_cli_adapters import invoke

JSON = dict[str, Any]
OID = "urn:oid:2.16.504.1.99.1"
LOCAL_SERVICES = "urn:oid:2.16.504.1.99.2"
LOCAL_OUTCOMES = "urn:oid:2.16.504.1.99.4"
LOCAL_STATES = "urn:oid:2.16.504.1.99.5"
EHR = "https://ehr.chu.example/fhir"


def directory() -> Directory:
    agencies = [
        AgencyConfig(
            id=HOSPITAL,
            name="CHU Ibn Rochd",
            kind="hospital",
            region="casablanca",
            token_sha256="0" * 64,
            services=["emergency-medical-care"],
            aliases=["Organization/chu-org-17", f"{OID}|1001"],
        ),
        AgencyConfig(
            id=COURT,
            name="Listening unit",
            kind="court",
            region="casablanca",
            token_sha256="1" * 64,
            services=["court-listening-unit"],
            aliases=["TPI-CASA-0101", "Organization/casa-court"],
        ),
    ]
    maps = [
        CodeMapEntry(system=LOCAL_SERVICES, code="CLU", service="court-listening-unit"),
        CodeMapEntry(system=LOCAL_OUTCOMES, code="PLAINTE", outcome="complaint-filed"),
        CodeMapEntry(system=LOCAL_STATES, code="PEC", status="in-progress"),
    ]
    return Directory(agencies, maps)


def adapter(*, source: str | None = None, with_directory: bool = True) -> FhirAdapter:
    context = AdapterContext(
        pseudonym_key=KEY, source=source, directory=directory() if with_directory else None
    )
    return FhirAdapter(context)


def ehr_request(version: str, *, code: JSON, rid: str = "sr-77") -> JSON:
    """A ServiceRequest as an EHR writes it: its own Organization ids and local codes."""
    resource: JSON = {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p-5"},
        "authoredOn": "2026-03-14T09:30:00Z",
        "requester": {"reference": f"{EHR}/Organization/chu-org-17"},
        "performer": [{"reference": "Organization/casa-court"}],
    }
    if version == "r5":
        return resource | {
            "code": {"concept": code},
            "supportingInfo": [{"reference": {"reference": "Consent/c-1"}}],
        }
    return resource | {"code": code, "supportingInfo": [{"reference": "Consent/c-1"}]}


def ehr_bundle(version: str, *, code: JSON | None = None) -> JSON:
    """A transaction from an EHR: no urn:referral-hub identifier names an agency."""
    code = code or {"coding": [{"system": LOCAL_SERVICES, "code": "CLU"}]}
    consent = consent_reference(version)
    consent["id"] = "c-1"
    subject_key = "subject" if version == "r5" else "patient"
    consent[subject_key] = {"reference": "Patient/p-5"}
    person = patient() | {"id": "p-5"}
    task: JSON = {
        "resourceType": "Task",
        "id": "t-77",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {"reference": "ServiceRequest/sr-77"},
        "for": {"reference": "Patient/p-5"},
        "requester": {"type": "Organization", "identifier": {"system": OID, "value": "1001"}},
        "owner": {"reference": "Organization/casa-court"},
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": f"{EHR}/Patient/p-5", "resource": person},
            {"fullUrl": f"{EHR}/Consent/c-1", "resource": consent},
            {"fullUrl": f"{EHR}/ServiceRequest/sr-77", "resource": ehr_request(version, code=code)},
            {"fullUrl": f"{EHR}/Task/t-77", "resource": task},
        ],
    }


def data_of(events: list[CloudEvent], kind: str) -> JSON:
    found = [event for event in events if event.type == kind]
    assert len(found) == 1, [event.type for event in events]
    data = found[0].data
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_an_ehr_bundle_resolves_its_agencies_and_codes_through_the_directory(version: str) -> None:
    """An EHR's Organization ids, OID identifiers and local codes become hub ids and codes."""
    events = adapter().decode(ehr_bundle(version))
    data = data_of(events, "referral.requested")
    assert events[0].source == HOSPITAL
    assert data["from_agency"] == HOSPITAL
    assert data["to_agency"] == COURT
    assert data["service"] == "court-listening-unit"
    # Without the configuration's aliases, the same references name no agency.
    with pytest.raises(AdapterError, match="cannot tell which agency sends this"):
        adapter(with_directory=False).decode(ehr_bundle(version))


def test_a_hub_agency_id_still_names_the_agency_with_a_directory() -> None:
    """References by urn:referral-hub:agency keep working when a directory is given."""
    bundle = ehr_bundle("r4")
    request = bundle["entry"][2]["resource"]
    request["performer"] = [
        {
            "type": "Organization",
            "identifier": {"system": "urn:referral-hub:agency", "value": COURT},
        }
    ]
    data = data_of(adapter().decode(bundle), "referral.requested")
    assert data["to_agency"] == COURT


def test_an_unknown_organization_is_an_error_naming_the_element_and_the_value() -> None:
    """A performer no alias names is refused with its element path and its name."""
    bundle = ehr_bundle("r4")
    bundle["entry"][2]["resource"]["performer"] = [{"reference": "Organization/nowhere-9"}]
    with pytest.raises(AdapterError) as caught:
        adapter().decode(bundle)
    assert "Organization/nowhere-9" in caught.value.reason
    assert caught.value.path == "Bundle.entry[2].resource(ServiceRequest).performer[0]"


def test_an_unknown_identifier_is_an_error_naming_system_and_value() -> None:
    """A requester identified in an unknown system|value is refused, naming it."""
    bundle = ehr_bundle("r4")
    bundle["entry"][2]["resource"]["requester"] = {
        "type": "Organization",
        "identifier": {"system": OID, "value": "9999"},
    }
    with pytest.raises(AdapterError, match=r"urn:oid:2\.16\.504\.1\.99\.1\|9999") as caught:
        adapter().decode(bundle)
    assert caught.value.path == "Bundle.entry[2].resource(ServiceRequest).requester"


def test_an_unmapped_code_of_a_mapped_system_names_system_and_code() -> None:
    """A local service code the maps lack is refused naming its system and code."""
    bundle = ehr_bundle("r4", code={"coding": [{"system": LOCAL_SERVICES, "code": "ZZZ"}]})
    with pytest.raises(AdapterError, match=r"no code map for urn:oid:2\.16\.504\.1\.99\.2\|ZZZ"):
        adapter().decode(bundle)


def test_the_default_snomed_map_applies_with_a_directory() -> None:
    """SNOMED CT concepts of the service vocabulary still map when a directory is given."""
    definition = next(d for d in all_services() if d.snomed is not None)
    code = {"coding": [{"system": SNOMED_SYSTEM, "code": definition.snomed}]}
    data = data_of(adapter().decode(ehr_bundle("r4", code=code)), "referral.requested")
    assert data["service"] == definition.code.value


def update_task(version: str, **elements: Any) -> JSON:
    task: JSON = {
        "resourceType": "Task",
        "id": "t-77",
        "status": "in-progress",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {"reference": "ServiceRequest/sr-77"},
        "owner": {"reference": "Organization/casa-court"},
        "lastModified": "2026-03-15T10:00:00Z",
    }
    return task | elements


def test_a_task_update_from_the_owner_alias_maps_its_outcome_and_state() -> None:
    """An owner named by alias sends it; local outcome and businessStatus codes map."""
    task = update_task(
        "r4",
        status="completed",
        businessStatus={"coding": [{"system": LOCAL_STATES, "code": "PEC"}]},
        output=[
            {
                "type": {"coding": [{"system": "urn:referral-hub:task-output", "code": "outcome"}]},
                "valueCodeableConcept": {"coding": [{"system": LOCAL_OUTCOMES, "code": "PLAINTE"}]},
            }
        ],
    )
    events = adapter().decode(task)
    assert {event.source for event in events} == {COURT}
    assert data_of(events, "referral.status-changed")["status"] == "in-progress"
    assert data_of(events, "referral.outcome-reported")["outcome"] == "complaint-filed"


def test_an_unmapped_outcome_code_names_system_and_code() -> None:
    """A local outcome code the maps lack is refused naming its system and code."""
    task = update_task(
        "r4",
        output=[
            {
                "type": {"coding": [{"system": "urn:referral-hub:task-output", "code": "outcome"}]},
                "valueCodeableConcept": {"coding": [{"system": LOCAL_OUTCOMES, "code": "??"}]},
            }
        ],
    )
    with pytest.raises(AdapterError, match=r"urn:oid:2\.16\.504\.1\.99\.4\|\?\?"):
        adapter().decode(task)


def contained_task(version: str, *, task_id: str = "t-1") -> JSON:
    """A requested Task carrying its ServiceRequest (and Patient) in contained."""
    request = ehr_request(version, code={"coding": [{"system": LOCAL_SERVICES, "code": "CLU"}]})
    request |= {"id": "sr1", "subject": {"reference": "#pat1"}}
    if version == "r5":
        request["supportingInfo"] = [
            {"reference": {"type": "Consent", "identifier": consent_identifier()}}
        ]
    else:
        request["supportingInfo"] = [{"type": "Consent", "identifier": consent_identifier()}]
    return {
        "resourceType": "Task",
        "id": task_id,
        "contained": [request, patient() | {"id": "pat1"}],
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {"reference": "#sr1"},
        "for": {"reference": "#pat1"},
        "requester": {"reference": "Organization/chu-org-17"},
        "owner": {"reference": "Organization/casa-court"},
    }


def consent_identifier() -> JSON:
    return {"system": "urn:referral-hub:consent", "value": "cns-contained-1"}


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_task_with_its_service_request_contained_opens_a_referral(version: str) -> None:
    """Task.focus '#sr1' finds the ServiceRequest in Task.contained, in R4 and R5."""
    events = adapter().decode(contained_task(version))
    data = data_of(events, "referral.requested")
    assert (data["from_agency"], data["to_agency"]) == (HOSPITAL, COURT)
    assert data["service"] == "court-listening-unit"
    assert data["consent_id"] == "cns-contained-1"


def test_contained_requests_of_two_tasks_are_two_referrals() -> None:
    """'#sr1' in two Tasks names two referrals, not one."""
    first = adapter().decode(contained_task("r4", task_id="t-1"))
    second = adapter().decode(contained_task("r4", task_id="t-2"))
    ids = {data_of(events, "referral.requested")["referral_id"] for events in (first, second)}
    assert len(ids) == 2
    assert first[0].id != second[0].id


def test_a_contained_request_in_a_bundle_opens_a_referral() -> None:
    """A Bundle whose Task contains its ServiceRequest is read the same way."""
    task = contained_task("r4")
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": task}]}
    single = data_of(adapter().decode(task), "referral.requested")
    within = data_of(adapter().decode(copy.deepcopy(bundle)), "referral.requested")
    assert within["referral_id"] == single["referral_id"]


def test_encoding_names_agencies_by_their_first_alias() -> None:
    """With a directory, a hospital's Bundle names agencies as its EHR does, beside the hub id."""
    events = adapter().decode(ehr_bundle("r4"))
    event = next(e for e in events if e.type == "referral.requested")
    bundle = adapter().encode(event)
    organizations = [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Organization"
    ]
    assert {org.get("id") for org in organizations} == {"chu-org-17", None}
    court = next(org for org in organizations if org.get("id") is None)
    assert {"system": AGENCY_SYSTEM, "value": COURT} in court["identifier"]
    # The court's first alias is a court code: FHIR has no form for it.
    assert len(court["identifier"]) == 1
    plain = FhirAdapter(AdapterContext(pseudonym_key=KEY)).encode(event)
    assert all(
        "id" not in e["resource"]
        for e in plain["entry"]
        if e["resource"]["resourceType"] == "Organization"
    )


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "casablanca-settat.toml"


def test_hub_adapters_decode_reads_an_ehr_bundle_with_the_configs_aliases_and_maps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub adapters decode fhir --config` names the sender from the example's aliases."""
    monkeypatch.setenv("HUB_PSEUDONYM_KEY", "cli-test-key")
    bundle = ehr_bundle("r4", code={"coding": [{"system": LOCAL_SERVICES, "code": "ML-VV"}]})
    request, task = bundle["entry"][2]["resource"], bundle["entry"][3]["resource"]
    request["requester"] = {"type": "Organization", "identifier": {"system": OID, "value": "1002"}}
    request["performer"] = [{"reference": f"{EHR}/Organization/chu-ibn-rochd"}]
    task["requester"] = request["requester"]
    task["owner"] = {"reference": "Organization/chu-ibn-rochd"}
    path = tmp_path / "ehr.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = invoke("decode", "fhir", str(path), "--config", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    requested = next(e for e in events if e["type"] == "referral.requested")
    assert requested["source"] == "hopital-moulay-youssef"
    assert requested["data"]["to_agency"] == HOSPITAL
    assert requested["data"]["service"] == "forensic-examination"


def test_a_contained_request_needs_no_directory() -> None:
    """A hub-identified Task with its ServiceRequest contained opens a referral, no config."""
    task = contained_task("r4")
    task["requester"], task["owner"] = hub_agency(HOSPITAL), hub_agency(COURT)
    request = task["contained"][0]
    request["requester"], request["performer"] = task["requester"], [task["owner"]]
    request["code"] = {"coding": [{"system": SERVICE_SYSTEM, "code": "court-listening-unit"}]}
    data = data_of(adapter(with_directory=False).decode(task), "referral.requested")
    assert (data["from_agency"], data["to_agency"]) == (HOSPITAL, COURT)


def hub_agency(agency: str) -> JSON:
    return {"type": "Organization", "identifier": {"system": AGENCY_SYSTEM, "value": agency}}
