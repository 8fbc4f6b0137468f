"""FHIR R4/R5 JSON to canonical events: which resources say what, in which order.

Accepted documents: a Bundle (``transaction``, ``batch``, ``message`` with its
MessageHeader first as BSeR sends it, or ``collection``), or a single Task or
ServiceRequest. Inside a Bundle:

- a ServiceRequest with no Task, or with a ``requested`` Task focusing it, is a
  new referral (``referral.requested``);
- a Task in any other status is an update of the referral it focuses
  (``referral.status-changed``, and ``referral.outcome-reported`` from its
  outputs); a ServiceRequest it focuses is context only;
- a Consent becomes the referral's consent reference, or a consent event;
- a Communication about a Task or ServiceRequest adds its text to the notes;
- Patient, Organization, Practitioner, PractitionerRole and RelatedPerson are
  read only where a reference leads to them.

Anything else is refused with the entry that holds it, so a hospital never
believes the hub took in content it silently dropped. Events come out in the
order the hub must accept them: consents, new referrals, then updates.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from hub.adapters.base import AdapterContext, UnreadableInput
from hub.adapters.fhir._decode_consent import ConsentBook
from hub.adapters.fhir._decode_referral import ReferralUnit, read_referral
from hub.adapters.fhir._decode_task import read_patch, read_task
from hub.adapters.fhir._nodes import OBJECT_TYPES, Node
from hub.adapters.fhir._parsing import JsonDocument
from hub.adapters.fhir._references import Resource, Resources, identifier_value
from hub.adapters.fhir._scope import Scope
from hub.adapters.fhir._versions import FhirVersion, check_resource, detect
from hub.adapters.fhir.mapping import REFERRAL_SYSTEM
from hub.contracts import CloudEvent
from hub.errors import AdapterError

__all__ = ["BUNDLE_TYPES", "ENTRY_TYPES", "ROOT_TYPES", "decode_document"]

ROOT_TYPES = frozenset({"Bundle", "Task", "ServiceRequest"})
BUNDLE_TYPES = frozenset({"transaction", "batch", "message", "collection"})
#: Resource types a Bundle entry may hold; Parameters only as a PATCH entry's body.
ENTRY_TYPES = frozenset(
    {
        "ServiceRequest",
        "Task",
        "Patient",
        "Consent",
        "Communication",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "RelatedPerson",
        "MessageHeader",
        "Parameters",
    }
)


def decode_document(
    document: Mapping[str, Any], *, declared: FhirVersion | None, context: AdapterContext
) -> list[CloudEvent]:
    """Canonical events for one FHIR document, or AdapterError naming the element."""
    _check_shape(document)
    version, checked = detect(document, declared)
    if checked is None:
        checked = check_resource(document, version)
    if isinstance(document, JsonDocument):
        # JSON the model accepted differs from the model's own JSON of it
        # (normalised()) in spelling only, and reading as sent refuses every
        # value not in the model's spelling (see Node) or respells it
        # (timestamps as version keys). So whatever reads as sent reads as the
        # model's JSON would, without writing the whole model back, which
        # costs more than checking it did.
        try:
            return _events(document, version, context, as_sent=True)
        except AdapterError:
            pass  # refused as spelt: the model's spelling decides, as it always did
    return _events(checked.normalised(), version, context, as_sent=False)


def _events(
    document: Mapping[str, Any], version: FhirVersion, context: AdapterContext, *, as_sent: bool
) -> list[CloudEvent]:
    resources = Resources.of(document, as_sent=as_sent)
    scope = Scope(resources, version, context, _header(resources))
    return _Decoding(scope).events()


def _check_shape(document: Mapping[str, Any]) -> None:
    """Refuse what is not ours before a FHIR model spends time on it."""
    kind = document.get("resourceType")
    if not isinstance(kind, str) or not kind:
        raise UnreadableInput("not a FHIR resource: no resourceType", path="resourceType")
    if kind not in ROOT_TYPES:
        raise AdapterError(
            "unsupported resource type: send a Bundle, a Task or a ServiceRequest",
            path=f"({kind})",
        )
    if kind != "Bundle":
        return
    bundle_type = document.get("type")
    if not isinstance(bundle_type, str) or bundle_type not in BUNDLE_TYPES:
        shown = bundle_type if isinstance(bundle_type, str) else "untyped"
        raise AdapterError(
            f"a {shown} Bundle is not read; send a transaction, batch, message or "
            "collection Bundle",
            path="Bundle.type",
        )
    entries = document.get("entry")
    if not isinstance(entries, list) or not entries:
        raise AdapterError("the Bundle has no entries", path="Bundle.entry")
    for index, entry in enumerate(entries):
        path = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, OBJECT_TYPES) else None
        if not isinstance(resource, OBJECT_TYPES):
            raise AdapterError("carries no resource; only entries with one are read", path=path)
        entry_type = resource.get("resourceType")
        if not isinstance(entry_type, str) or entry_type not in ENTRY_TYPES:
            shown = entry_type if isinstance(entry_type, str) else "?"
            raise AdapterError("unsupported resource type", path=f"{path}.resource({shown})")
        if entry_type == "MessageHeader" and (index != 0 or bundle_type != "message"):
            raise AdapterError(
                "a MessageHeader comes first, in a message Bundle", path=f"{path}.resource"
            )
        request = entry.get("request")
        method = request.get("method") if isinstance(request, OBJECT_TYPES) else None
        if entry_type == "Parameters" and method != "PATCH":
            raise AdapterError(
                "unsupported resource type (Parameters is read only as a PATCH body)",
                path=f"{path}.resource(Parameters)",
            )
    if bundle_type == "message":
        first = entries[0].get("resource") if isinstance(entries[0], Mapping) else None
        if not isinstance(first, Mapping) or first.get("resourceType") != "MessageHeader":
            raise AdapterError(
                "a message Bundle starts with its MessageHeader", path="Bundle.entry[0]"
            )


def _header(resources: Resources) -> Resource | None:
    headers = resources.of_type("MessageHeader")
    return headers[0] if headers else None


class _Decoding:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.resources = scope.resources
        self.consents = ConsentBook(scope)

    def events(self) -> list[CloudEvent]:
        units, updates = self._plan()
        notes = self._notes(units, updates)
        referrals = [read_referral(self.scope, unit, self.consents) for unit in units]
        changes = [
            event
            for task in updates
            for event in read_task(self.scope, task, notes.get(id(task), []))
        ]
        patches = [
            event
            for resource in self.resources.of_type("Parameters")
            for event in read_patch(self.scope, resource)
        ]
        for consent in self.resources.of_type("Consent"):
            self.consents.read(consent)
        events = [*self.consents.events, *referrals, *changes, *patches]
        if not events:
            raise AdapterError(
                "nothing to take in: no ServiceRequest, Task, Consent or Task Patch",
                path=self.resources.items[0].path if self.resources.bundle is None else "Bundle",
            )
        return _unique(events)

    def _plan(self) -> tuple[list[ReferralUnit], list[Resource]]:
        requests = self.resources.of_type("ServiceRequest")
        updates: list[Resource] = []
        opening: dict[int, Resource] = {}
        context_only: set[int] = set()
        for task in self.resources.of_type("Task"):
            focus = self.resources.resolve(task.node.child("focus"), task)
            focused = focus if focus is not None and focus.type == "ServiceRequest" else None
            if task.node.text("status") == "requested":
                if focused is None:
                    raise task.node.fail(
                        "a new referral needs its ServiceRequest, in the same Bundle or "
                        "contained in the Task",
                        "focus",
                    )
                if id(focused) in opening:
                    raise task.node.fail("a second Task fulfils the same ServiceRequest", "focus")
                opening[id(focused)] = task
                if focused.container is not None:
                    # Contained (focus "#sr1"): a request of its own, read with its Task.
                    requests.append(focused)
            else:
                updates.append(task)
                if focused is not None:
                    context_only.add(id(focused))
        units: list[ReferralUnit] = []
        groups: dict[str, ReferralUnit] = {}
        for request in requests:
            if id(request) in context_only:
                continue
            requisition = _requisition(request)
            if requisition is not None and requisition in groups:
                unit = groups[requisition]
                if request.identifier(REFERRAL_SYSTEM) == requisition:
                    unit.additional.insert(0, unit.main)
                    unit.main = request
                else:
                    unit.additional.append(request)
            else:
                unit = ReferralUnit(main=request)
                units.append(unit)
                if requisition is not None:
                    groups[requisition] = unit
            opening_task = opening.get(id(request))
            if opening_task is not None:
                if unit.task is not None and unit.task is not opening_task:
                    raise opening_task.node.fail("a second Task fulfils the same referral", "focus")
                unit.task = opening_task
        return units, updates

    def _notes(self, units: list[ReferralUnit], updates: list[Resource]) -> dict[int, list[str]]:
        """Communication texts, attached to the referral or Task they are about."""
        by_task: dict[int, list[str]] = {}
        for message in self.resources.of_type("Communication"):
            texts = _payload_texts(message.node)
            unit = self._about(message, units, updates)
            if isinstance(unit, ReferralUnit):
                unit.notes.extend(texts)
            else:
                by_task.setdefault(id(unit), []).extend(texts)
        return by_task

    def _about(
        self, message: Resource, units: list[ReferralUnit], updates: list[Resource]
    ) -> ReferralUnit | Resource:
        node = message.node
        links = node.children("basedOn") + node.children("partOf") + node.children("about")
        for link in links:
            target = self.resources.resolve(link, message)
            if target is not None:
                for unit in units:
                    if unit.holds(target):
                        return unit
                if target in updates:
                    return target
            named = identifier_value(link, REFERRAL_SYSTEM)
            if named is not None:
                for unit in units:
                    if unit.main.identifier(REFERRAL_SYSTEM) == named:
                        return unit
                for task in updates:
                    if task.identifier(REFERRAL_SYSTEM) == named:
                        return task
        candidates: list[ReferralUnit | Resource] = [*units, *updates]
        if len(candidates) == 1:
            return candidates[0]
        raise node.fail(
            "a note travels with the Task or ServiceRequest it is about; name it "
            "(basedOn, partOf or about)",
            "about",
        )


def _requisition(request: Resource) -> str | None:
    requisition = request.node.child("requisition")
    if requisition is None or requisition.text("system") != REFERRAL_SYSTEM:
        return None
    return requisition.text("value") or None


def _payload_texts(node: Node) -> list[str]:
    # R4 sends contentString; R5 dropped it for contentCodeableConcept: read both.
    texts = []
    for payload in node.children("payload"):
        text = payload.text("contentString")
        if text is None and (concept := payload.child("contentCodeableConcept")) is not None:
            text = concept.text("text")
        if text is None and (attachment := payload.child("contentAttachment")) is not None:
            text = _attachment_text(attachment)
        if text is None:
            raise payload.fail("only text is carried (a string, or a text/plain attachment)")
        if text.strip():
            texts.append(text)
    return texts


def _attachment_text(attachment: Node) -> str:
    content_type = (attachment.text("contentType") or "").split(";")[0].strip().lower()
    data = attachment.text("data")
    if content_type != "text/plain" or data is None:
        raise attachment.fail("only text/plain attachments with inline data are carried")
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        # binascii.Error, and ValueError for a character past ASCII.
        raise attachment.fail("the data is not base64 of UTF-8 text", "data") from exc


def _unique(events: list[CloudEvent]) -> list[CloudEvent]:
    seen: set[str] = set()
    found = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            found.append(event)
    return found
