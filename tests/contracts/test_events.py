"""Payload models: frozen, closed, strict on JSON, categorised, and their own business rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from pydantic import BaseModel, ValidationError

from hub.contracts import default_registry
from hub.contracts.categories import CATEGORY_KEY, DataCategory, field_categories
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentScope,
    EventPayload,
    OutcomeCode,
    OutcomeDomain,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
)
from hub.contracts.examples import EXAMPLES
from tests.contracts.strategies import referral_requested_v1, referral_requested_v2

CONTRACTS = list(default_registry())
REQUESTED = (ReferralRequestedV1, ReferralRequestedV2)

#: The data category of each categorised field, per event type; every other field routes.
CATEGORISED: dict[str, dict[str, str]] = {
    "referral.requested": {
        "reason": "narrative",
        "narrative": "narrative",
        "safety_risk": "safety-risk",
        "contact": "contact",
        "identity": "identity",
        "medical": "medical",
        "legal": "legal",
        "evidence": "evidence",
    },
    "referral.status-changed": {
        "business_status": "narrative",
        "status_reason": "narrative",
        "note": "narrative",
    },
    "referral.outcome-reported": {
        "case_number": "legal",
        "clinical_note": "medical",
        "note": "narrative",
    },
    "consent.granted": {},
    "consent.withdrawn": {"reason": "narrative"},
    "disclosure.compelled": {},
    "legal.order-issued": {"order_reference": "legal", "grounds": "legal"},
    "legal.order-declined": {"explanation": "legal"},
    "delivery.failed": {},
    "referral.overdue": {},
}


def categorised_fields(contract: Any) -> dict[str, str]:
    """The categorised fields of ``contract``'s version; v3 requests classify the incident."""
    fields = dict(CATEGORISED[contract.event_type])
    if contract.event_type == "referral.requested" and contract.version >= 3:
        fields["incident"] = "incident"
    return fields


#: Which outcomes belong to which domain, as agencies report them.
OUTCOMES: dict[str, set[str]] = {
    "health": {"treated", "forensic-certificate-issued", "follow-up-scheduled"},
    "social": {
        "shelter-provided",
        "financial-support-granted",
        "counselling-started",
        "counselling-completed",
        "declined-by-survivor",
    },
    "justice": {
        "complaint-filed",
        "protection-order-requested",
        "protection-order-granted",
        "protection-order-refused",
        "case-opened",
        "hearing-scheduled",
        "case-closed",
    },
}


def contract_id(contract: Any) -> str:
    return f"{contract.event_type}-v{contract.version}"


def data_of(model: type[EventPayload]) -> dict[str, Any]:
    """The JSON data of the model's example."""
    return EXAMPLES[(model.event_type, model.version)].model_dump(mode="json", exclude_none=True)


def from_json(model: type[BaseModel], data: object) -> Any:
    return model.model_validate_json(json.dumps(data))


def refusal(model: type[BaseModel], data: object) -> list[dict[str, Any]]:
    """The errors strict JSON validation reports for ``data``."""
    with pytest.raises(ValidationError) as caught:
        from_json(model, data)
    return list(caught.value.errors(include_url=False))


def locations(model: type[BaseModel], data: object) -> list[tuple[Any, ...]]:
    return [tuple(error["loc"]) for error in refusal(model, data)]


def requested(model: type[EventPayload] = ReferralRequestedV1, **changes: Any) -> dict[str, Any]:
    return {**data_of(model), **changes}


# -- frozen and closed ---------------------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_payload_is_frozen(contract: Any) -> None:
    """A payload cannot be changed after validation; a change means a new payload."""
    payload = contract.example
    name = next(iter(type(payload).model_fields))
    before = getattr(payload, name)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(payload, name, before)
    assert getattr(payload, name) == before


def test_nested_parts_are_frozen() -> None:
    """Parts inside a payload (risk, consent scope) are frozen too."""
    referral = EXAMPLES[("referral.requested", 1)]
    assert isinstance(referral, ReferralRequestedV1)
    assert referral.safety_risk is not None
    with pytest.raises(ValidationError, match="frozen"):
        referral.safety_risk.level = referral.safety_risk.level
    consent = EXAMPLES[("consent.granted", 1)]
    assert isinstance(consent, ConsentGrantedV1)
    with pytest.raises(ValidationError, match="frozen"):
        consent.scope[0].purposes = ()


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_unknown_field_is_refused(contract: Any) -> None:
    """A field the contract does not define is refused by name, not silently dropped."""
    errors = refusal(contract.model, {**data_of(contract.model), "unexpected": 1})
    assert [(error["loc"], error["type"]) for error in errors] == [
        (("unexpected",), "extra_forbidden")
    ]


@pytest.mark.parametrize(
    ("part", "path"),
    [("safety_risk", ("safety_risk", "unexpected")), ("contact", ("contact", "unexpected"))],
)
def test_unknown_field_in_a_part_is_refused(part: str, path: tuple[str, ...]) -> None:
    """Nested parts are closed too, and the error gives the nested path."""
    data = requested()
    data[part] = {**data[part], "unexpected": True}
    assert locations(ReferralRequestedV1, data) == [path]


def test_v1_reader_refuses_v2_additional_services() -> None:
    """A v2 payload is not a v1 payload: v1 does not know additional_services."""
    data = requested(additional_services=["legal-aid"])
    assert locations(ReferralRequestedV1, data) == [("additional_services",)]


# -- strict JSON types ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", REQUESTED, ids=["v1", "v2"])
@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"priority": 1}, ("priority",)),
        ({"priority": "URGENT"}, ("priority",)),
        ({"service": "massage"}, ("service",)),
        ({"contact": {"do_not_contact": "yes"}}, ("contact", "do_not_contact")),
        ({"contact": {"do_not_contact": 1}}, ("contact", "do_not_contact")),
        ({"due_by": "2026-03-17T09:30:00"}, ("due_by",)),
        ({"due_by": "2026-03-17"}, ("due_by",)),
        ({"subject_id": "Salma B."}, ("subject_id",)),
        ({"subject_id": "sub_" + "A" * 32}, ("subject_id",)),
        ({"subject_id": "sub_" + "a" * 31}, ("subject_id",)),
        ({"from_agency": "CHU Ibn Rochd"}, ("from_agency",)),
        ({"referral_id": 142}, ("referral_id",)),
        ({"referral_id": ""}, ("referral_id",)),
        ({"medical": {"summary": "s", "incapacity_days": "21"}}, ("medical", "incapacity_days")),
        ({"medical": {"summary": "s", "incapacity_days": True}}, ("medical", "incapacity_days")),
        ({"medical": {"summary": "s", "incapacity_days": 366}}, ("medical", "incapacity_days")),
        ({"identity": {"birth_date": "02/05/1994"}}, ("identity", "birth_date")),
        ({"evidence": [{"evidence_id": "e", "kind": "photograph", "location": "x"}]}, None),
        ({"reason": "x" * 501}, ("reason",)),
    ],
    ids=repr,
)
def test_wrong_json_type_or_form_is_refused(
    model: type[EventPayload], changes: dict[str, Any], path: tuple[str, ...] | None
) -> None:
    """Strict JSON validation refuses values of the wrong type or form, naming the field."""
    found = locations(model, requested(model, **changes))
    if path is None:  # a required nested field is missing
        assert found == [("evidence", 0, "sha256")]
    else:
        assert found == [path]


def test_evidence_hash_must_be_lower_case_sha256_hex() -> None:
    """An evidence reference must carry a SHA-256 hex digest, nothing else."""
    data = requested()
    for bad in ("ABC", "0" * 63, "0" * 64 + "0", "G" * 64):
        data["evidence"] = [{**data["evidence"][0], "sha256": bad}]
        assert locations(ReferralRequestedV1, data) == [("evidence", 0, "sha256")]


@settings(max_examples=100, deadline=None)
@given(referral_requested_v1() | referral_requested_v2())
def test_payload_json_round_trip(payload: EventPayload) -> None:
    """Any valid referral payload written as JSON reads back equal under strict validation."""
    data = payload.model_dump(mode="json", exclude_none=True)
    assert from_json(type(payload), data) == payload


# -- categories ----------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_categorised_fields_are_optional_and_declare_their_category(contract: Any) -> None:
    """Each survivor-data field is optional and says its category in the JSON Schema."""
    model = contract.model
    schema = model.model_json_schema()
    properties, required = schema["properties"], set(schema.get("required", ()))
    categorised = {
        name: category.value
        for name, category in field_categories(model).items()
        if category is not None
    }
    assert categorised == categorised_fields(contract)
    for name, category in categorised.items():
        assert properties[name][CATEGORY_KEY] == category
        assert DataCategory(properties[name][CATEGORY_KEY])
        assert name not in required
        assert not model.model_fields[name].is_required()
        assert model.model_fields[name].default is None


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_routing_fields_declare_no_category(contract: Any) -> None:
    """Ids, codes and timestamps carry no category: every recipient gets them."""
    properties = contract.model.model_json_schema()["properties"]
    routing = set(properties) - set(categorised_fields(contract))
    assert routing, contract.event_type
    for name in routing:
        assert CATEGORY_KEY not in properties[name], name
        assert field_categories(contract.model)[name] is None


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_payload_with_categories_withheld_still_validates(contract: Any) -> None:
    """Withholding any one category, or all of them, leaves a valid payload."""
    data = data_of(contract.model)
    fields = categorised_fields(contract)
    for category in {*fields.values(), "all"}:
        withheld = {name for name, found in fields.items() if category in {found, "all"}}
        kept = {name: value for name, value in data.items() if name not in withheld}
        payload = from_json(contract.model, kept)
        assert all(getattr(payload, name) is None for name in withheld)


# -- business rules ------------------------------------------------------------------------------


def outcome(code: str, domain: str) -> dict[str, Any]:
    return {**data_of(ReferralOutcomeReportedV1), "domain": domain, "outcome": code}


def test_outcome_table_covers_every_code_once() -> None:
    """Every outcome code belongs to exactly one domain."""
    listed = [code for codes in OUTCOMES.values() for code in codes]
    assert sorted(listed) == sorted(code.value for code in OutcomeCode)
    assert set(OUTCOMES) == {domain.value for domain in OutcomeDomain}


@pytest.mark.parametrize("code", sorted(OUTCOMES["justice"]))
def test_each_justice_outcome_is_accepted(code: str) -> None:
    """Justice outcomes, which the FHIR guides lack, are reported in the justice domain."""
    payload = from_json(ReferralOutcomeReportedV1, outcome(code, "justice"))
    assert payload.outcome.value == code
    assert payload.domain is OutcomeDomain.JUSTICE


@pytest.mark.parametrize(
    ("code", "domain"),
    [
        (code, domain)
        for domain in sorted(OUTCOMES)
        for codes in OUTCOMES.values()
        for code in sorted(codes)
        if code not in OUTCOMES[domain]
    ],
)
def test_outcome_outside_its_domain_is_refused(code: str, domain: str) -> None:
    """An outcome reported under another domain is refused, naming the outcome."""
    (error,) = refusal(ReferralOutcomeReportedV1, outcome(code, domain))
    assert code in error["msg"]
    assert domain in error["msg"]


@pytest.mark.parametrize("model", REQUESTED, ids=["v1", "v2"])
def test_referral_to_itself_is_refused(model: type[EventPayload]) -> None:
    """An agency cannot refer a survivor to itself."""
    data = requested(model)
    (error,) = refusal(model, {**data, "to_agency": data["from_agency"]})
    assert "to_agency" in error["msg"]


@pytest.mark.parametrize(
    ("recipient", "valid"),
    [
        ({"recipient_agency": "dar-al-amane-shelter"}, True),
        ({"recipient_kind": "shelter"}, True),
        ({}, False),
        ({"recipient_agency": "dar-al-amane-shelter", "recipient_kind": "shelter"}, False),
        ({"recipient_agency": None, "recipient_kind": None}, False),
    ],
    ids=["agency", "kind", "neither", "both", "both-null"],
)
def test_consent_scope_names_exactly_one_recipient(recipient: dict[str, Any], valid: bool) -> None:
    """A consent scope names one agency or one kind of agency, never both or none."""
    scope = {"purposes": ["protection"], "categories": ["contact"], **recipient}
    grant = {**data_of(ConsentGrantedV1), "scope": [scope]}
    if valid:
        assert from_json(ConsentScope, scope) == from_json(ConsentGrantedV1, grant).scope[0]
    else:
        (error,) = refusal(ConsentScope, scope)
        assert "exactly one" in error["msg"]
        assert ("scope", 0) in locations(ConsentGrantedV1, grant)


@pytest.mark.parametrize(
    ("additional", "valid"),
    [
        ([], True),
        (["legal-aid", "emergency-shelter"], True),
        (["court-listening-unit"], False),
        (["legal-aid", "legal-aid"], False),
        (["legal-aid", "court-listening-unit"], False),
    ],
    ids=["none", "distinct", "repeats-main", "repeats-additional", "repeats-main-later"],
)
def test_v2_refuses_a_repeated_service(additional: list[str], valid: bool) -> None:
    """A v2 referral asks for each service at most once, the main one included."""
    data = requested(ReferralRequestedV2, additional_services=additional)
    assert data["service"] == "court-listening-unit"
    if valid:
        payload = from_json(ReferralRequestedV2, data)
        assert [service.value for service in payload.additional_services] == additional
    else:
        (error,) = refusal(ReferralRequestedV2, data)
        assert "only once" in error["msg"]
