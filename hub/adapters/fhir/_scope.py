"""What every part of decoding shares: the document, the sender, and event making.

Each reader (referral, task, consent) asks the scope which agency a reference
names, which subject a Patient is, and turns its mapped fields into a canonical
event whose contract errors point back at FHIR elements.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.adapters.base import AdapterContext
from hub.adapters.fhir._dates import optional_instant
from hub.adapters.fhir._ids import content_hash, event_id
from hub.adapters.fhir._nodes import Node
from hub.adapters.fhir._patient import Subject, subject_of
from hub.adapters.fhir._references import (
    Resource,
    Resources,
    external_names,
    identifier_value,
)
from hub.adapters.fhir._versions import FhirVersion, model_instant
from hub.adapters.fhir.mapping import AGENCY_SYSTEM
from hub.config.code_maps import MappedKind
from hub.contracts import CloudEvent, new_event
from hub.contracts.events import EventPayload
from hub.errors import AdapterError, InvalidPayload

__all__ = ["Scope", "codings", "concept", "concepts", "references", "text_of"]


class Scope:
    """The document being decoded, its FHIR version, and the adapter's context."""

    def __init__(
        self,
        resources: Resources,
        version: FhirVersion,
        context: AdapterContext,
        header: Resource | None,
    ) -> None:
        self.resources = resources
        self.version = version
        self.context = context
        self.header = header

    @property
    def r5(self) -> bool:
        return self.version is FhirVersion.R5

    def agency_of(self, reference: Node | None, origin: Resource) -> str | None:
        """The hub agency an Organization (or PractitionerRole) reference names.

        Without a directory, only ``urn:referral-hub:agency`` identifiers name
        agencies; with one, so do the aliases the configuration gives them.
        """
        if reference is None:
            return None
        named = identifier_value(reference, AGENCY_SYSTEM)
        if named is not None:
            return named
        target = self.resources.resolve(reference, origin)
        if target is not None and target.type == "PractitionerRole":
            # One step only: a role's organization is an Organization, and a
            # document whose references go round in circles must not loop.
            role = target.node.child("organization")
            if role is None:
                return None
            named = identifier_value(role, AGENCY_SYSTEM)
            if named is not None:
                return named
            reference, origin = role, target
            target = self.resources.resolve(role, target)
        if target is not None and target.type == "Organization":
            named = target.identifier(AGENCY_SYSTEM)
            if named is not None:
                return named
        elif target is not None:
            return None  # a Practitioner, a Patient...: not an agency
        return self._aliased(reference, target)

    def _aliased(self, reference: Node, target: Resource | None) -> str | None:
        """The agency a directory alias names, or an error naming the unknown name."""
        directory = self.context.directory
        if directory is None:
            return None
        names = external_names(reference, target)
        for name in names:
            if directory.knows(name):
                return directory.agency(name, element=reference.path)
        if not names:
            return None
        raise AdapterError(
            f"no agency is known as {names[0]!r} (give the agency this alias in the "
            "configuration, or identify it in urn:referral-hub:agency)",
            path=reference.path,
        )

    def sender(self) -> str | None:
        """The agency a message Bundle's header says sent it."""
        if self.header is None:
            return None
        return self.agency_of(self.header.node.child("sender"), self.header)

    def receiver(self) -> str | None:
        if self.header is None:
            return None
        for destination in self.header.node.children("destination"):
            found = self.agency_of(destination.child("receiver"), self.header)
            if found is not None:
                return found
        return None

    def source(self, *candidates: tuple[str | None, Node, str]) -> str:
        """The sending agency: the context's, the header's, or the first candidate found."""
        if self.context.source is not None:
            return self.context.source
        sender = self.sender()
        if sender is not None:
            return sender
        for value, _, _ in candidates:
            if value is not None:
                return value
        _, node, element = candidates[0]
        raise node.fail(
            "cannot tell which agency sends this: name it (the caller or --source), "
            f"identify the Organization with {AGENCY_SYSTEM}, or give the agency the name "
            "this reference uses as an alias in the configuration (with --config)",
            element,
        )

    def mapped_code(self, kind: MappedKind, concept_node: Node | None) -> str | None:
        """The hub code the directory maps a coding of ``concept_node`` to, if any does.

        Codings in systems the directory has no map for are someone else's
        business and skipped; a coding in a mapped system whose code has no
        entry is refused (naming system and code) unless another coding maps.
        """
        directory = self.context.directory
        if directory is None:
            return None
        unmapped: AdapterError | None = None
        for system, code, coding in codings(concept_node):
            if not system or not code or not directory.maps(system):
                continue
            try:
                return directory.code(kind, code, system, element=coding.path)
            except AdapterError as exc:
                unmapped = unmapped or exc
        if unmapped is not None:
            raise unmapped
        return None

    def subject(self, reference: Node | None, origin: Resource, element: str) -> Subject:
        return subject_of(reference, origin, self.resources, self.context.pseudonym_key, element)

    def time_of(
        self, resource: Resource, *elements: str, fallback: datetime | None = None
    ) -> datetime:
        """When the resource says it happened; the clock only if nothing says.

        Re-sending the same resource must give the same event, time included,
        or the hub would see a conflict where there is only a repetition.
        """
        candidates = [resource.meta("lastUpdated")]
        candidates += [resource.node.text(element) for element in elements]
        if self.resources.bundle is not None:
            candidates.append(self.resources.bundle.text("timestamp"))
        for text in candidates:
            found = optional_instant(text)
            if found is not None:
                return found
        return fallback or self.context.clock()

    def event(
        self,
        model: type[EventPayload],
        data: Mapping[str, Any],
        *,
        source: str,
        resource: Resource,
        fields: Mapping[str, str],
        time: datetime,
        discriminator: str = "",
        version_key: str | None = None,
    ) -> CloudEvent:
        """A canonical event; a contract error names the FHIR element it came from.

        Its id hashes the resource's version (``meta.versionId``, else
        ``meta.lastUpdated``, else ``version_key``), so a timestamp counts in
        the models' spelling of it: ``+00:00`` and ``Z`` are the same version.
        """
        contract = self.context.registry.get(model.event_type, model.version)
        clean = {key: value for key, value in data.items() if value is not None}
        try:
            payload = contract.validate_data(clean)
        except InvalidPayload as exc:
            field, message = exc.errors[0]
            name = field.removeprefix("data.").split(".")[0]
            raise AdapterError(f"{name}: {message}", path=fields.get(name, resource.path)) from exc
        key = _key_of(resource)
        version = (
            resource.meta("versionId")
            or model_instant(resource.meta("lastUpdated"))
            or version_key
            or content_hash(payload.model_dump(mode="json"))
        )
        consent_id = getattr(payload, "consent_id", None)
        return new_event(
            payload,
            source=source,
            event_id=event_id(
                self.context.pseudonym_key,
                source,
                model.event_type,
                payload.subject,
                key + discriminator,
                version,
            ),
            time=time,
            consent_id=consent_id if isinstance(consent_id, str) else None,
        )


def _key_of(resource: Resource) -> str:
    """What names a resource in the document; a contained request through its Task.

    ``#sr1`` recurs in every Task that contains its ServiceRequest. Contained
    Consents keep the key they always had, so their events keep their ids.
    """
    key = (resource.id and f"{resource.type}/{resource.id}") or resource.full_url or ""
    if resource.container is not None and resource.type == "ServiceRequest":
        return f"{_key_of(resource.container)}#{key}"
    return key


def concept(node: Node, key: str, *, r5: bool) -> Node | None:
    """A CodeableConcept element, or the ``concept`` of what R5 made a CodeableReference."""
    element = node.child(key)
    if element is None or not r5:
        return element
    return element.child("concept")


def concepts(node: Node, key: str, *, r5: bool) -> list[Node]:
    if not r5:
        return node.children(key)
    return [c for e in node.children(key) if (c := e.child("concept")) is not None]


def references(node: Node, key: str, *, r5: bool) -> list[Node]:
    """A repeating Reference element, or the ``reference`` of R5's CodeableReferences."""
    if not r5:
        return node.children(key)
    return [r for e in node.children(key) if (r := e.child("reference")) is not None]


def text_of(concept_node: Node | None) -> str | None:
    """A CodeableConcept's text, else its first coding's display, else its code."""
    if concept_node is None:
        return None
    text = concept_node.text("text")
    if text:
        return text
    for coding in concept_node.children("coding"):
        shown = coding.text("display") or coding.text("code")
        if shown:
            return shown
    return None


def codings(concept_node: Node | None) -> list[tuple[str | None, str | None, Node]]:
    if concept_node is None:
        return []
    return [(c.text("system"), c.text("code"), c) for c in concept_node.children("coding")]
