"""The contract registry: look-ups, parsing envelopes against contracts, and version casting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hub.contracts import (
    CloudEvent,
    CompatibilityMode,
    Contract,
    ContractRegistry,
    build_registry,
    new_event,
    parse_structured,
)
from hub.contracts._uris import dataschema_uri
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentWithdrawnV1,
    DeliveryFailedV1,
    DisclosureCompelledV1,
    EventPayload,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
)
from hub.contracts.examples import EXAMPLES
from hub.errors import InvalidPayload, UnknownEventType, UnknownVersion
from tests.contracts.strategies import events_of, referral_requested_v1, referral_requested_v2

REQUESTED = "referral.requested"
#: Read-only, shared by the property tests; tests that extend a registry build their own.
REGISTRY = build_registry()
CONTRACTS = list(REGISTRY)
WITH_CONSENT_ID = [c for c in CONTRACTS if "consent_id" in c.model.model_fields]

#: A referral.requested v1 as a producer stored it before v2 existed, written out by hand.
STORED_V1 = """
{
  "specversion": "1.0",
  "id": "0b6c7d52-3f0e-4d8a-9a55-1f2e3d4c5b6a",
  "source": "chu-ibn-rochd",
  "type": "referral.requested",
  "time": "2025-11-02T08:15:00Z",
  "subject": "ref-2025-000917",
  "dataschema": "https://referral-hub.org/contracts/schemas/referral.requested/v1.json",
  "datacontenttype": "application/json",
  "consentid": "cns-2025-000311",
  "data": {
    "referral_id": "ref-2025-000917",
    "from_agency": "chu-ibn-rochd",
    "to_agency": "dar-al-amane-shelter",
    "subject_id": "sub_0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "service": "emergency-shelter",
    "priority": "emergency",
    "consent_id": "cns-2025-000311",
    "due_by": "2025-11-02T20:00:00+01:00",
    "reason": "Cannot return home tonight.",
    "safety_risk": {"level": "severe", "children_at_risk": true},
    "contact": {"do_not_contact": false, "safe_channel": "through-referring-agency"},
    "evidence": [
      {
        "evidence_id": "ev-17",
        "kind": "photograph",
        "location": "vault://chu-ibn-rochd/evidence/ev-17.jpg",
        "sha256": "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"
      }
    ]
  }
}
"""


@pytest.fixture
def registry() -> ContractRegistry:
    """A fresh registry per test, so one that is extended never leaks into another."""
    return build_registry()


def contract_id(contract: Contract) -> str:
    return f"{contract.event_type}-v{contract.version}"


def event_for(payload: EventPayload, **attributes: Any) -> CloudEvent:
    """The payload in an envelope, other attributes changed and re-validated."""
    event = new_event(payload, source="chu-ibn-rochd", time=datetime(2026, 3, 14, tzinfo=UTC))
    return CloudEvent.model_validate({**event.structured(), **attributes})


def example_event(event_type: str, version: int, **attributes: Any) -> CloudEvent:
    return event_for(EXAMPLES[(event_type, version)], **attributes)


# -- look-ups ------------------------------------------------------------------------------------


def test_types_and_versions(registry: ContractRegistry) -> None:
    """The registry lists every built-in event type and the versions of each."""
    assert registry.types() == sorted(
        [
            "consent.granted",
            "consent.withdrawn",
            "delivery.failed",
            "disclosure.compelled",
            "legal.order-declined",
            "legal.order-issued",
            "referral.outcome-reported",
            "referral.overdue",
            "referral.requested",
            "referral.status-changed",
        ]
    )
    assert registry.versions(REQUESTED) == [1, 2, 3]
    assert registry.versions("consent.granted") == [1, 2]
    assert registry.versions("disclosure.compelled") == [1, 2]
    for event_type in set(registry.types()) - {
        REQUESTED,
        "consent.granted",
        "disclosure.compelled",
    }:
        assert registry.versions(event_type) == [1]


@pytest.mark.parametrize(
    ("event_type", "version", "model"),
    [
        (REQUESTED, 1, ReferralRequestedV1),
        (REQUESTED, 2, ReferralRequestedV2),
        ("referral.status-changed", 1, ReferralStatusChangedV1),
        ("referral.outcome-reported", 1, ReferralOutcomeReportedV1),
        ("consent.granted", 1, ConsentGrantedV1),
        ("consent.granted", 2, ConsentGrantedV2),
        ("consent.withdrawn", 1, ConsentWithdrawnV1),
        ("disclosure.compelled", 1, DisclosureCompelledV1),
        ("delivery.failed", 1, DeliveryFailedV1),
    ],
)
def test_get_finds_the_model_of_a_type_and_version(
    registry: ContractRegistry, event_type: str, version: int, model: type[EventPayload]
) -> None:
    """get(type, version) gives that version's model and names it consistently."""
    contract = registry.get(event_type, version)
    assert contract.model is model
    assert (contract.event_type, contract.version) == (event_type, version)
    assert contract.dataschema == dataschema_uri(event_type, version)
    assert contract.compatibility in CompatibilityMode


def test_latest_is_the_highest_version(registry: ContractRegistry) -> None:
    """latest(type) is the newest version a producer should write."""
    assert registry.latest(REQUESTED) is registry.get(REQUESTED, 3)
    assert registry.latest("consent.granted") is registry.get("consent.granted", 2)
    assert registry.latest("consent.withdrawn") is registry.get("consent.withdrawn", 1)


def test_iteration_gives_each_contract_once_in_order(registry: ContractRegistry) -> None:
    """Iterating the registry gives every (type, version) once, sorted."""
    keys = [(contract.event_type, contract.version) for contract in registry]
    assert keys == sorted(set(keys))
    assert set(keys) == set(EXAMPLES)


@pytest.mark.parametrize(
    "lookup",
    [
        lambda registry: registry.get("referral.teleported", 1),
        lambda registry: registry.latest("referral.teleported"),
        lambda registry: registry.versions("referral.teleported"),
    ],
    ids=["get", "latest", "versions"],
)
def test_unknown_type_raises_unknown_event_type(registry: ContractRegistry, lookup: Any) -> None:
    """Asking about a type the hub does not know raises UnknownEventType naming it."""
    with pytest.raises(UnknownEventType) as caught:
        lookup(registry)
    assert caught.value.event_type == "referral.teleported"
    assert "referral.teleported" in str(caught.value)


@pytest.mark.parametrize("version", [0, 4, 99])
def test_unknown_version_raises_unknown_version(registry: ContractRegistry, version: int) -> None:
    """Asking for a version a known type lacks raises UnknownVersion naming both."""
    with pytest.raises(UnknownVersion) as caught:
        registry.get(REQUESTED, version)
    assert (caught.value.event_type, caught.value.version) == (REQUESTED, f"v{version}")


# -- contract_of ---------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_contract_of_follows_type_and_dataschema(contract: Contract) -> None:
    """An envelope's type and dataschema select its contract."""
    event = example_event(contract.event_type, contract.version)
    assert REGISTRY.contract_of(event) is contract
    assert event.version == contract.version


def test_foreign_dataschema_of_a_known_type_is_an_unknown_version(
    registry: ContractRegistry,
) -> None:
    """A dataschema URI that is not one of the hub's names no version it can read."""
    foreign = "https://schemas.example.org/referral.requested/v1.json"
    event = example_event(REQUESTED, 1, dataschema=foreign)
    assert event.version == 0
    with pytest.raises(UnknownVersion) as caught:
        registry.contract_of(event)
    assert (caught.value.event_type, caught.value.version) == (REQUESTED, foreign)


def test_foreign_dataschema_of_an_unknown_type_is_an_unknown_type(
    registry: ContractRegistry,
) -> None:
    """With an unknown type, the type is what is reported."""
    event = example_event(REQUESTED, 1, type="org.example.other", dataschema="urn:example:other:v1")
    with pytest.raises(UnknownEventType):
        registry.contract_of(event)


def test_hub_dataschema_of_another_type_is_refused(registry: ContractRegistry) -> None:
    """A dataschema naming a different type than the envelope is an invalid dataschema."""
    event = example_event(REQUESTED, 1, dataschema=dataschema_uri("consent.granted", 1))
    with pytest.raises(InvalidPayload) as caught:
        registry.contract_of(event)
    assert caught.value.fields == ("dataschema",)


def test_hub_dataschema_of_an_unknown_version_is_refused(registry: ContractRegistry) -> None:
    """A hub dataschema for a version that does not exist raises UnknownVersion."""
    event = example_event(REQUESTED, 1, dataschema=dataschema_uri(REQUESTED, 9))
    with pytest.raises(UnknownVersion) as caught:
        registry.contract_of(event)
    assert caught.value.version == "v9"


# -- parse ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_parse_gives_the_payload(contract: Contract) -> None:
    """A well-formed event parses to its payload model."""
    assert REGISTRY.parse(example_event(contract.event_type, contract.version)) == contract.example


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_parse_refuses_a_subject_other_than_the_payloads(contract: Contract) -> None:
    """The envelope subject must be the payload's own id (referral or consent)."""
    event = example_event(contract.event_type, contract.version, subject="someone-else")
    with pytest.raises(InvalidPayload) as caught:
        REGISTRY.parse(event)
    assert caught.value.fields == ("subject",)
    assert contract.example.subject_field in str(caught.value)


@pytest.mark.parametrize("contract", WITH_CONSENT_ID, ids=contract_id)
def test_parse_refuses_a_consentid_other_than_the_payloads(contract: Contract) -> None:
    """The consentid extension must be the consent the payload names."""
    event = example_event(contract.event_type, contract.version, consentid="cns-other")
    with pytest.raises(InvalidPayload) as caught:
        REGISTRY.parse(event)
    assert caught.value.fields == ("consentid",)


@pytest.mark.parametrize("contract", WITH_CONSENT_ID, ids=contract_id)
def test_parse_accepts_the_payloads_consentid_or_none(contract: Contract) -> None:
    """A consentid equal to data.consent_id, or none at all, is fine."""
    consent_id = contract.example.consent_id
    for value in (consent_id, None):
        event = example_event(contract.event_type, contract.version, consentid=value)
        assert REGISTRY.parse(event) == contract.example


def test_parse_names_each_offending_data_field() -> None:
    """Invalid data is refused with one dotted path per offending field, under data."""
    data = EXAMPLES[(REQUESTED, 1)].model_dump(mode="json", exclude_none=True)
    data.update(priority=1, unexpected=True)
    data["evidence"][1]["sha256"] = "not-a-hash"
    event = example_event(REQUESTED, 1, data=data)
    with pytest.raises(InvalidPayload) as caught:
        REGISTRY.parse(event)
    assert set(caught.value.fields) == {
        "data.priority",
        "data.unexpected",
        "data.evidence.1.sha256",
    }


# -- contracts: examples and schemas -------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_example_validates(contract: Contract) -> None:
    """Each contract's example is valid for its model and for its JSON Schema."""
    data = contract.example.model_dump(mode="json", exclude_none=True)
    assert isinstance(contract.example, contract.model)
    assert contract.validate_data(data) == contract.example
    Draft202012Validator(contract.json_schema()).validate(data)


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_json_schema_id_is_the_dataschema(contract: Contract) -> None:
    """A schema's $id is the dataschema URI events of that version carry."""
    schema = contract.json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == contract.dataschema
    assert schema["$id"] == new_event(contract.example, source="x").dataschema
    assert (schema["x-event-type"], schema["x-version"]) == (contract.event_type, contract.version)


# -- casting -------------------------------------------------------------------------------------

v1_events = events_of(referral_requested_v1())


def without(data: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in names}


def assert_same_envelope(cast: CloudEvent, original: CloudEvent, version: int) -> None:
    """Only data and dataschema change in a cast; the version is the one asked for."""
    assert cast.dataschema == dataschema_uri(original.type, version)
    assert cast.version == version
    assert without(cast.structured(), "data", "dataschema") == without(
        original.structured(), "data", "dataschema"
    )


@settings(max_examples=100, deadline=None)
@given(v1_events)
def test_v1_up_to_v2_and_back_is_the_identity(event: CloudEvent) -> None:
    """A v1 referral cast to v2 and back to v1 has exactly the data it started with."""
    before = json.dumps(event.data, sort_keys=True)
    up = REGISTRY.cast(event, 2)
    assert isinstance(REGISTRY.parse(up), ReferralRequestedV2)
    assert up.data == {**event.data, "additional_services": []}
    down = REGISTRY.cast(up, 1)
    assert down == event
    assert json.dumps(event.data, sort_keys=True) == before  # the original is untouched


@settings(max_examples=100, deadline=None)
@given(events_of(referral_requested_v2(additional=st.just(0))))
def test_v2_without_additional_services_down_to_v1_and_back_is_the_identity(
    event: CloudEvent,
) -> None:
    """A v2 referral asking for one service survives a trip through v1 unchanged."""
    down = REGISTRY.cast(event, 1)
    assert isinstance(REGISTRY.parse(down), ReferralRequestedV1)
    back = REGISTRY.cast(down, 2)
    assert back == event
    assert REGISTRY.parse(back) == REGISTRY.parse(event)


@settings(max_examples=100, deadline=None)
@given(events_of(referral_requested_v2(additional=st.integers(1, 3))))
def test_v2_with_additional_services_down_to_v1_keeps_the_main_service(
    event: CloudEvent,
) -> None:
    """A v1 reader gets the main service and every other field; only the extras are left out."""
    down = REGISTRY.cast(event, 1)
    payload = REGISTRY.parse(down)
    assert isinstance(payload, ReferralRequestedV1)
    assert down.data == without(event.data, "additional_services")
    assert payload.service.value == event.data["service"]
    assert_same_envelope(down, event, 1)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([1, 2]), events_of(referral_requested_v1() | referral_requested_v2()))
def test_every_cast_validates_against_the_target_version(version: int, event: CloudEvent) -> None:
    """Whatever version an event is in, its cast to any version is valid for that version."""
    cast = REGISTRY.cast(event, version)
    payload = REGISTRY.parse(cast)
    assert type(payload) is REGISTRY.get(REQUESTED, version).model
    assert_same_envelope(cast, event, version)


def test_cast_to_the_same_version_changes_nothing(registry: ContractRegistry) -> None:
    """Casting to the version an event already has gives the same event."""
    for version in (1, 2):
        event = example_event(REQUESTED, version)
        assert registry.cast(event, version) == event


def test_cast_to_an_unknown_version_is_refused(registry: ContractRegistry) -> None:
    """There is no v4 of referral.requested to cast to."""
    with pytest.raises(UnknownVersion):
        registry.cast(example_event(REQUESTED, 1), 4)


class ReferralRequestedV4(ReferralRequestedV3):
    """A hypothetical v4, to show casts run step by step."""

    version: ClassVar[int] = 4

    interpreter: str | None = None


def _v4_example() -> ReferralRequestedV4:
    data = EXAMPLES[(REQUESTED, 3)].model_dump(mode="json", exclude_none=True)
    return ReferralRequestedV4.model_validate_json(json.dumps({**data, "interpreter": "ar"}))


def test_cast_runs_every_step_between_versions(registry: ContractRegistry) -> None:
    """v1 to v4 runs v1→v2→v3→v4; v4 to v1 runs them back down in order."""
    steps: list[str] = []

    def up(data: Mapping[str, Any]) -> dict[str, Any]:
        steps.append("3->4")
        return {**data, "interpreter": None}

    def down(data: Mapping[str, Any]) -> dict[str, Any]:
        steps.append("4->3")
        return without(data, "interpreter")

    registry.register(
        Contract(ReferralRequestedV4, "v4", CompatibilityMode.BACKWARD, _v4_example())
    )
    registry.register_casters(REQUESTED, 3, up, down)
    event = example_event(REQUESTED, 1)

    latest = registry.cast(event, registry.latest(REQUESTED).version)
    assert steps == ["3->4"]
    assert isinstance(registry.parse(latest), ReferralRequestedV4)
    assert latest.data["additional_services"] == []
    assert registry.cast(latest, 1) == event
    assert steps == ["3->4", "4->3"]


def test_missing_caster_is_an_unknown_version(registry: ContractRegistry) -> None:
    """A version with no caster to reach it cannot be cast to."""
    registry.register(
        Contract(ReferralRequestedV4, "v4", CompatibilityMode.BACKWARD, _v4_example())
    )
    with pytest.raises(UnknownVersion, match="no caster"):
        registry.cast(example_event(REQUESTED, 1), 4)


def test_stored_v1_event_reads_as_the_latest_version(registry: ContractRegistry) -> None:
    """A v1 referral stored long ago is read through the current code as the latest version."""
    stored = parse_structured(STORED_V1)
    assert registry.contract_of(stored).version == 1
    latest = registry.latest(REQUESTED)
    current = registry.cast(stored, latest.version)
    payload = registry.parse(current)
    assert isinstance(payload, latest.model)
    assert isinstance(payload, ReferralRequestedV2)
    assert payload.additional_services == ()
    assert payload.referral_id == "ref-2025-000917"
    assert payload.service.value == "emergency-shelter"
    assert payload.safety_risk is not None
    assert payload.safety_risk.children_at_risk
    assert payload.evidence is not None
    assert payload.evidence[0].evidence_id == "ev-17"
    assert current.consentid == payload.consent_id
    expected = {**json.loads(STORED_V1)["data"], "additional_services": []}
    assert payload == latest.validate_data(expected)
