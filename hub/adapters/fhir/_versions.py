"""FHIR versions: telling R4 from R5, and checking a document against its models.

This is the one module that touches fhir.resources, which is untyped: whatever
``Any`` it hands back stops here. R4 JSON is checked with the R4B models (the
package has no R4 ones); for the resources the hub reads, R4 and R4B have the
same structure.

A successful parse does not tell the version (many resources parse as both), so
the version comes, in this order, from the caller (the endpoint path, a CLI
option, the agency's configuration), from ``meta.profile`` of a known
implementation guide, from the elements that changed between R4 and R5, and
last from which model family accepts the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from hub.errors import AdapterError

__all__ = ["FhirVersion", "detect_version", "validate_resource"]


class FhirVersion(StrEnum):
    R4 = "r4"
    R5 = "r5"

    @classmethod
    def parse(cls, value: str) -> FhirVersion:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise AdapterError(f"unknown FHIR version {value!r}; use r4 or r5") from None


#: Implementation guides the hub meets, by canonical URL prefix, and their FHIR version.
_PROFILE_VERSIONS: tuple[tuple[str, FhirVersion], ...] = (
    ("http://hl7.org/fhir/us/sdoh-clinicalcare/", FhirVersion.R4),
    ("http://hl7.org/fhir/us/bser/", FhirVersion.R4),
    ("http://hl7.org/fhir/us/core/", FhirVersion.R4),
    ("https://fhir.hl7.org.uk/", FhirVersion.R4),
    ("https://fhir.nhs.uk/", FhirVersion.R4),
    ("http://hl7.org.au/fhir/", FhirVersion.R4),
    ("http://hl7.org/fhir/4.0/", FhirVersion.R4),
    ("http://hl7.org/fhir/R4/", FhirVersion.R4),
    ("http://hl7.org/fhir/5.0/", FhirVersion.R5),
    ("http://hl7.org/fhir/R5/", FhirVersion.R5),
)

#: (resourceType, element, R4 or R5): elements that exist, or have this shape,
#: in one version only. ``element`` may name a child: ``code.concept``.
_TELLS: tuple[tuple[str, str, FhirVersion], ...] = (
    ("ServiceRequest", "code.concept", FhirVersion.R5),
    ("ServiceRequest", "code.coding", FhirVersion.R4),
    ("ServiceRequest", "reason", FhirVersion.R5),
    ("ServiceRequest", "reasonCode", FhirVersion.R4),
    ("ServiceRequest", "reasonReference", FhirVersion.R4),
    ("Task", "requestedPerformer", FhirVersion.R5),
    ("Task", "performerType", FhirVersion.R4),
    ("Task", "reasonCode", FhirVersion.R4),
    ("Consent", "decision", FhirVersion.R5),
    ("Consent", "grantor", FhirVersion.R5),
    ("Consent", "subject", FhirVersion.R5),
    ("Consent", "patient", FhirVersion.R4),
    ("Consent", "scope", FhirVersion.R4),
    ("Consent", "performer", FhirVersion.R4),
    ("MessageHeader", "source.endpointUrl", FhirVersion.R5),
    ("MessageHeader", "source.endpoint", FhirVersion.R4),
    ("Communication", "payload.contentString", FhirVersion.R4),
    ("Communication", "payload.contentCodeableConcept", FhirVersion.R5),
)

_WHITESPACE = re.compile(r"\s+")


def detect_version(document: Mapping[str, Any], declared: FhirVersion | None) -> FhirVersion:
    """The FHIR version ``document`` is written in (see the module docstring)."""
    if declared is not None:
        return declared
    profiled = {version for version in _profile_versions(document)}
    if len(profiled) == 1:
        return profiled.pop()
    votes = {FhirVersion.R4: 0, FhirVersion.R5: 0}
    for resource in _resources(document):
        for resource_type, element, version in _TELLS:
            if resource.get("resourceType") == resource_type and _present(resource, element):
                votes[version] += 1
    if votes[FhirVersion.R4] != votes[FhirVersion.R5]:
        return max(votes, key=votes.__getitem__)
    accepted = [version for version in FhirVersion if _accepts(document, version)]
    # Both or neither: R4 is what hospital systems overwhelmingly speak.
    return accepted[0] if len(accepted) == 1 else FhirVersion.R4


def validate_resource(document: Mapping[str, Any], version: FhirVersion) -> dict[str, Any]:
    """The document as the fhir.resources model of ``version`` normalises it.

    Raises AdapterError naming the first offending element.
    """
    root = str(document.get("resourceType"))
    try:
        model = _model_class(root, version)
        instance = model.model_validate(document)
        dumped = instance.model_dump(mode="json", by_alias=True, exclude_none=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        path = _element_path(document, error["loc"])
        message = _WHITESPACE.sub(" ", str(error["msg"])).strip()[:300]
        raise AdapterError(f"not valid FHIR {version.value.upper()}: {message}", path=path) from exc
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        # fhir.resources raises these for unknown resource types and odd shapes
        # that its validators do not anticipate; none may cross the port.
        raise AdapterError(
            f"not valid FHIR {version.value.upper()}: {type(exc).__name__}", path=root
        ) from exc
    if not isinstance(dumped, dict):
        raise AdapterError("the FHIR model returned no object", path=root)
    return dumped


def _model_class(resource_type: str, version: FhirVersion) -> Any:
    if version is FhirVersion.R5:
        from fhir.resources import get_fhir_model_class as r5_model

        return r5_model(resource_type)
    from fhir.resources.R4B import get_fhir_model_class as r4b_model

    return r4b_model(resource_type)


def _accepts(document: Mapping[str, Any], version: FhirVersion) -> bool:
    try:
        validate_resource(document, version)
    except AdapterError:
        return False
    return True


def _resources(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield document
    entries = document.get("entry")
    if isinstance(entries, list):
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping):
                yield resource


def _profile_versions(document: Mapping[str, Any]) -> Iterator[FhirVersion]:
    for resource in _resources(document):
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, Mapping) else None
        for profile in profiles if isinstance(profiles, list) else []:
            for prefix, version in _PROFILE_VERSIONS:
                if isinstance(profile, str) and profile.startswith(prefix):
                    yield version


def _present(resource: Mapping[str, Any], element: str) -> bool:
    nodes: list[object] = [resource]
    for name in element.split("."):
        found: list[object] = []
        for node in nodes:
            items = node if isinstance(node, list) else [node]
            found.extend(item[name] for item in items if isinstance(item, Mapping) and name in item)
        nodes = found
    return bool(nodes)


def _element_path(document: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """``Bundle.entry[2].resource(ServiceRequest).code`` for a pydantic error location."""
    path = str(document.get("resourceType") or "(root)")
    node: object = document
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            path += f".{part}"
            node = node.get(part) if isinstance(node, Mapping) else None
        kind = node.get("resourceType") if isinstance(node, Mapping) else None
        if isinstance(kind, str):
            path += f"({kind})"
    return path
