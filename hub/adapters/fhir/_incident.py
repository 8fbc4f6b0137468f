"""The incident classification as ``ServiceRequest.reasonCode`` codings of a hub CodeSystem.

Each coded value is one CodeableConcept whose single coding is in
``urn:referral-hub:incident``, its code ``<aspect>:<value>`` (``violence:rape``,
``technology:image-based-abuse``, ``perpetrator:intimate-partner``,
``age-band:18-24``, ``first-contact:hotline``). Violence codes keep their order:
the first is the primary form. A reason that is her account stays a text
concept beside them, under the narrative category as before.
"""

from __future__ import annotations

from typing import Any, Final

from hub.adapters.fhir._nodes import Node
from hub.adapters.fhir._scope import codings, concepts
from hub.contracts.events import IncidentClassification

__all__ = ["INCIDENT_SYSTEM", "incident_concepts", "incident_of", "is_incident_concept"]

INCIDENT_SYSTEM: Final = "urn:referral-hub:incident"

#: Each aspect's code prefix and the classification field it fills.
_ASPECTS: Final = {
    "violence": "violence",
    "technology": "technology_facilitated",
    "perpetrator": "perpetrator",
    "age-band": "age_band",
    "first-contact": "first_contact",
}
_REPEATING: Final = frozenset({"violence", "technology_facilitated"})


def incident_concepts(incident: IncidentClassification) -> list[dict[str, Any]]:
    """The CodeableConcepts that carry ``incident``, in a stable order."""
    data = incident.model_dump(mode="json", exclude_none=True)
    found = []
    for prefix, name in _ASPECTS.items():
        value_or_values = data.get(name)
        if value_or_values is None:
            continue
        values = value_or_values if name in _REPEATING else [value_or_values]
        for value in values:
            found.append({"coding": [{"system": INCIDENT_SYSTEM, "code": f"{prefix}:{value}"}]})
    return found


def is_incident_concept(concept_node: Node) -> bool:
    return any(system == INCIDENT_SYSTEM for system, _, _ in codings(concept_node))


def incident_of(node: Node, key: str, *, r5: bool) -> dict[str, Any] | None:
    """The classification the request's reason concepts code, as contract JSON; None if none."""
    data: dict[str, Any] = {}
    for concept_node in concepts(node, key, r5=r5):
        for system, code, coding in codings(concept_node):
            if system != INCIDENT_SYSTEM:
                continue
            prefix, _, value = (code or "").partition(":")
            name = _ASPECTS.get(prefix)
            if name is None or not value:
                raise coding.fail(
                    f"unknown incident code {code!r}: expected one of "
                    f"{', '.join(f'{p}:<value>' for p in _ASPECTS)}",
                    "code",
                )
            if name in _REPEATING:
                data.setdefault(name, []).append(value)
            elif name in data:
                raise coding.fail(f"a second {prefix} code; the incident has one", "code")
            else:
                data[name] = value
    return data or None
