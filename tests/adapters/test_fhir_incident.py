"""The incident classification travels through FHIR as reasonCode codings, both ways."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.adapters import AdapterContext
from hub.adapters.fhir import FhirAdapter
from hub.contracts import default_registry, new_event
from hub.contracts.events import IncidentClassification, ReferralRequestedV3
from hub.errors import AdapterError
from tests.adapters.fhir_samples import KEY
from tests.contracts.strategies import incidents

REGISTRY = default_registry()
SOURCE = "chu-ibn-rochd"
EXAMPLE = REGISTRY.get("referral.requested", 3).example


def _adapter() -> FhirAdapter:
    return FhirAdapter(AdapterContext(KEY, source=SOURCE, registry=REGISTRY))


@settings(max_examples=80, deadline=None)
@given(
    incidents.map(lambda data: IncidentClassification.model_validate_json(json.dumps(data))),
    st.sampled_from(["R4", "R5"]),
)
def test_classification_survives_a_trip_through_fhir(
    incident: IncidentClassification, version: str
) -> None:
    """Any classification encoded to FHIR and decoded again is the same, order of forms kept."""
    payload = EXAMPLE.model_copy(update={"incident": incident})
    event = new_event(payload, source=SOURCE)
    adapter = _adapter()
    bundle = json.dumps(adapter.encode(event, target_version=version)).encode()
    decoded = REGISTRY.parse(adapter.decode(bundle)[0])
    assert isinstance(decoded, ReferralRequestedV3)
    assert decoded.incident == incident
    assert decoded.reason == payload.reason


def test_unknown_incident_code_is_refused_naming_the_coding() -> None:
    """A reasonCode coding of the incident system with an unknown aspect is an AdapterError."""
    event = new_event(EXAMPLE, source=SOURCE)
    adapter = _adapter()
    bundle = adapter.encode(event, target_version="R4")
    request = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )
    request["reasonCode"][1]["coding"][0]["code"] = "weapon:knife"
    with pytest.raises(AdapterError, match="unknown incident code") as caught:
        adapter.decode(json.dumps(bundle).encode())
    assert "reasonCode" in (caught.value.path or "")
