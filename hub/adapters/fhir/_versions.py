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
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from hub.adapters.fhir._nodes import OBJECT_TYPES
from hub.errors import AdapterError

__all__ = [
    "CheckedResource",
    "FhirVersion",
    "check_resource",
    "detect",
    "detect_version",
    "model_date_time",
    "model_instant",
]


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

#: ``_TELLS`` by resource type, element paths split: detection looks up, not scans.
_TELLS_BY_TYPE: Mapping[str, tuple[tuple[tuple[str, ...], FhirVersion], ...]] = {
    kind: tuple((tuple(e.split(".")), v) for t, e, v in _TELLS if t == kind)
    for kind in {t for t, _, _ in _TELLS}
}

_WHITESPACE = re.compile(r"\s+")
#: What the models raise on a document they refuse: pydantic's error, and what
#: fhir.resources raises for unknown resource types and odd shapes that its
#: validators do not anticipate; none may cross the port.
_MODEL_FAILURES = (ValidationError, KeyError, ValueError, TypeError, AttributeError, RecursionError)


@dataclass(frozen=True, eq=False)
class CheckedResource:
    """A document the fhir.resources model of ``version`` accepted, with that model."""

    document: Mapping[str, Any] = field(repr=False)
    version: FhirVersion
    model: Any = field(repr=False)

    def normalised(self) -> dict[str, Any]:
        """The document as the model writes it back, every value in the model's spelling.

        That spelling differs from what a sender may write only in details
        (``+00:00`` becomes ``Z``, ``"true"`` a boolean, empty lists vanish...).
        """
        try:
            dumped = self.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        except _MODEL_FAILURES as exc:
            raise _refusal(exc, self.document, self.version) from exc
        if not isinstance(dumped, dict):
            root = str(self.document.get("resourceType"))
            raise AdapterError("the FHIR model returned no object", path=root)
        return dumped


def detect_version(document: Mapping[str, Any], declared: FhirVersion | None) -> FhirVersion:
    """The FHIR version ``document`` is written in (see the module docstring)."""
    return detect(document, declared)[0]


def detect(
    document: Mapping[str, Any], declared: FhirVersion | None
) -> tuple[FhirVersion, CheckedResource | None]:
    """The version, and the document checked against it when telling took a check."""
    if declared is not None:
        return declared, None
    profiled: set[FhirVersion] = set()
    votes = {FhirVersion.R4: 0, FhirVersion.R5: 0}
    for resource in _resources(document):
        if "meta" in resource:
            profiled.update(_profile_versions(resource))
        kind = resource.get("resourceType")
        tells = _TELLS_BY_TYPE.get(kind) if isinstance(kind, str) else None
        for element, version in tells or ():
            if _present(resource, element):
                votes[version] += 1
    if len(profiled) == 1:
        return profiled.pop(), None
    if votes[FhirVersion.R4] != votes[FhirVersion.R5]:
        return max(votes, key=votes.__getitem__), None
    accepted: dict[FhirVersion, CheckedResource] = {}
    for version in FhirVersion:
        try:
            accepted[version] = check_resource(document, version)
        except AdapterError:
            continue
    if len(accepted) == 1:
        return next(iter(accepted.items()))
    # Both or neither: R4 is what hospital systems overwhelmingly speak.
    return FhirVersion.R4, accepted.get(FhirVersion.R4)


def check_resource(document: Mapping[str, Any], version: FhirVersion) -> CheckedResource:
    """``document`` checked against the fhir.resources model of ``version``.

    Raises AdapterError naming the first offending element.
    """
    try:
        model = _model_class(str(document.get("resourceType")), version).model_validate(document)
    except _MODEL_FAILURES as exc:
        raise _refusal(exc, document, version) from exc
    return CheckedResource(document, version, model)


def model_instant(text: str | None) -> str | None:
    """An ``instant`` spelt as the models write it back (see ``normalised``)."""
    return _as_written(text, "instant")


def model_date_time(text: str | None) -> str | None:
    """A ``dateTime`` spelt as the models write it back (see ``normalised``)."""
    return _as_written(text, "dateTime")


def _as_written(text: str | None, kind: str) -> str | None:
    if text is None:
        return None
    try:
        value = _primitive(kind).validate_python(text)
    except ValidationError:
        # Only values the models accepted come here; anything else stays as sent.
        return text
    written = to_jsonable_python(value)
    return written if isinstance(written, str) else text


@cache
def _primitive(kind: str) -> TypeAdapter[Any]:
    # The same types the models declare (R4B's and R5's are one and the same).
    from fhir.resources.fhirtypes import DateTimeType, InstantType

    return TypeAdapter(InstantType if kind == "instant" else DateTimeType)


def _refusal(exc: Exception, document: Mapping[str, Any], version: FhirVersion) -> AdapterError:
    root = str(document.get("resourceType"))
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        path = _element_path(document, error["loc"])
        message = _WHITESPACE.sub(" ", str(error["msg"])).strip()[:300]
        return AdapterError(f"not valid FHIR {version.value.upper()}: {message}", path=path)
    return AdapterError(f"not valid FHIR {version.value.upper()}: {type(exc).__name__}", path=root)


@cache
def _model_class(resource_type: str, version: FhirVersion) -> Any:
    if version is FhirVersion.R5:
        from fhir.resources import get_fhir_model_class as r5_model

        return r5_model(resource_type)
    from fhir.resources.R4B import get_fhir_model_class as r4b_model

    return r4b_model(resource_type)


def _resources(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield document
    entries = document.get("entry")
    if isinstance(entries, list):
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, OBJECT_TYPES) else None
            if isinstance(resource, OBJECT_TYPES):
                yield resource


def _profile_versions(resource: Mapping[str, Any]) -> Iterator[FhirVersion]:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, Mapping) else None
    for profile in profiles if isinstance(profiles, list) else []:
        for prefix, version in _PROFILE_VERSIONS:
            if isinstance(profile, str) and profile.startswith(prefix):
                yield version


def _present(resource: Mapping[str, Any], element: tuple[str, ...]) -> bool:
    if len(element) == 1:
        return element[0] in resource
    nodes: list[object] = [resource]
    for name in element:
        found: list[object] = []
        for node in nodes:
            items = node if isinstance(node, list) else [node]
            found.extend(i[name] for i in items if isinstance(i, OBJECT_TYPES) and name in i)
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
