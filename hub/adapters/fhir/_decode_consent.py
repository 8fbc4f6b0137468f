"""Consent: the reference a referral travels under, or a grant or withdrawal.

A referral needs the survivor's consent. A hospital either points at a consent
the hub already holds (an identifier in ``urn:referral-hub:consent``), or sends
the Consent itself: when its provisions name hub agencies with purposes the hub
knows, it becomes a ``consent.granted`` event accepted before the referral; an
``inactive`` Consent becomes ``consent.withdrawn``. Deny provisions are refused,
not dropped: silently widening what she agreed to is the one mistake the hub
must never make.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.adapters.fhir._dates import instant, optional_instant, until
from hub.adapters.fhir._ids import derived_id
from hub.adapters.fhir._nodes import Node
from hub.adapters.fhir._references import Resource, identifier_value, reference_type
from hub.adapters.fhir._scope import Scope, codings, references
from hub.adapters.fhir.mapping import (
    AGENCY_KIND_SYSTEM,
    CONSENT_SYSTEM,
    GRANTED_BY,
    ONWARD_REFERRER_ROLE,
    PURPOSE_FROM_CODING,
    RECIPIENT_ROLES,
    category_from_coding,
)
from hub.contracts import CloudEvent
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentWithdrawnV1,
    GrantedBy,
)

__all__ = ["ConsentBook", "ConsentReading"]


@dataclass(frozen=True)
class ConsentReading:
    consent_id: str
    event: CloudEvent | None


class ConsentBook:
    """Reads each Consent of the document once, and keeps the events in order."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._read: dict[int, ConsentReading] = {}
        self.events: list[CloudEvent] = []

    def read(self, consent: Resource, source: str | None = None) -> ConsentReading:
        key = id(consent)
        if key not in self._read:
            reading = _ConsentReader(self._scope, consent, source).read()
            self._read[key] = reading
            if reading.event is not None:
                self.events.append(reading.event)
        return self._read[key]

    def for_referral(self, request: Resource, source: str) -> str:
        """The consent id a ServiceRequest travels under (supportingInfo, or the Bundle's)."""
        scope = self._scope
        for reference in references(request.node, "supportingInfo", r5=scope.r5):
            target = scope.resources.resolve(reference, request)
            if reference_type(reference, target) != "Consent":
                continue
            if target is not None:
                return self.read(target, source).consent_id
            named = identifier_value(reference, CONSENT_SYSTEM)
            if named is not None:
                return named
            raise reference.fail(
                f"the Consent is not in this document and names no {CONSENT_SYSTEM} identifier"
            )
        in_bundle = scope.resources.of_type("Consent")
        if len(in_bundle) == 1:
            return self.read(in_bundle[0], source).consent_id
        raise request.node.fail(
            "no Consent: a referral travels only under the survivor's consent; reference it "
            f"(supportingInfo, a Consent here or a {CONSENT_SYSTEM} identifier)",
            "supportingInfo",
        )


class _ConsentReader:
    def __init__(self, scope: Scope, consent: Resource, source: str | None) -> None:
        self.scope = scope
        self.consent = consent
        self.node = consent.node
        self.r5 = scope.r5
        self.source = source or scope.source(
            (self._custodian(), self.node, "controller" if self.r5 else "organization")
        )

    def read(self) -> ConsentReading:
        status = self.node.require("status")
        consent_id = self.consent.identifier(CONSENT_SYSTEM) or self._derived_id()
        if status == "active":
            return ConsentReading(consent_id, self._granted(consent_id))
        if status == "inactive":
            return ConsentReading(consent_id, self._withdrawn(consent_id))
        raise self.node.fail(
            f"{status}: only an active Consent grants, and an inactive one withdraws", "status"
        )

    def _granted(self, consent_id: str) -> CloudEvent | None:
        if self.r5 and self.node.text("decision") == "deny":
            raise self.node.fail(
                "this Consent denies; a referral needs one that permits", "decision"
            )
        scope_entries = self._scope_entries()
        if not scope_entries:
            if self.consent.identifier(CONSENT_SYSTEM) is not None:
                return None  # a reference to a consent the hub already holds
            raise self.node.fail(
                "names no hub agency (an Organization identified in urn:referral-hub:agency) "
                "with a purpose the hub knows, and no urn:referral-hub:consent identifier",
                "provision",
            )
        period = self._period()
        valid_from = (instant(period, "start") if period is not None else None) or instant(
            self.node, "date" if self.r5 else "dateTime"
        )
        data: dict[str, Any] = {
            "consent_id": consent_id,
            "subject_id": self._subject(),
            "recorded_by": self._custodian() or self.source,
            "granted_by": self._granted_by().value,
            "scope": scope_entries,
            "valid_from": valid_from.isoformat() if valid_from is not None else None,
            "valid_until": _iso(until(period, "end")) if period is not None else None,
        }
        return self._event(ConsentGrantedV2, data)

    def _withdrawn(self, consent_id: str) -> CloudEvent:
        period = self._period()
        ended = (until(period, "end") if period is not None else None) or optional_instant(
            self.consent.meta("lastUpdated")
        )
        if ended is None:
            raise self.node.fail("an inactive Consent needs the end of its period", "provision")
        data: dict[str, Any] = {
            "consent_id": consent_id,
            "subject_id": self._subject(),
            "recorded_by": self._custodian() or self.source,
            "withdrawn_at": ended.isoformat(),
        }
        return self._event(ConsentWithdrawnV1, data)

    def _event(
        self,
        model: type[ConsentGrantedV1 | ConsentGrantedV2 | ConsentWithdrawnV1],
        data: dict[str, Any],
    ) -> CloudEvent:
        node_path = self.node.path
        period_path = f"{node_path}.period" if self.r5 else f"{node_path}.provision.period"
        fields = {
            "consent_id": f"{node_path}.identifier",
            "subject_id": f"{node_path}.{'subject' if self.r5 else 'patient'}",
            "recorded_by": f"{node_path}.{'controller' if self.r5 else 'organization'}",
            "granted_by": f"{node_path}.{'grantor' if self.r5 else 'performer'}",
            "scope": f"{node_path}.provision",
            "valid_from": period_path,
            "valid_until": period_path,
            "withdrawn_at": period_path,
        }
        stated = data.get("valid_from") or data.get("withdrawn_at")
        time = self.scope.time_of(
            self.consent,
            "date" if self.r5 else "dateTime",
            fallback=datetime.fromisoformat(stated) if isinstance(stated, str) else None,
        )
        return self.scope.event(
            model, data, source=self.source, resource=self.consent, fields=fields, time=time
        )

    def _derived_id(self) -> str:
        consent, key = self.consent, self.scope.context.pseudonym_key
        if consent.id:
            return derived_id(key, self.source, "Consent", consent.id, readable=True)
        if consent.full_url:
            return derived_id(key, self.source, "Consent", consent.full_url, readable=False)
        raise self.node.fail(f"needs an id or a {CONSENT_SYSTEM} identifier", "identifier")

    def _subject(self) -> str:
        element = "subject" if self.r5 else "patient"
        reference = self.node.child(element)
        return self.scope.subject(reference, self.consent, element).subject_id

    def _custodian(self) -> str | None:
        elements = ("controller", "manager") if self.r5 else ("organization",)
        for element in elements:
            for reference in self.node.children(element):
                found = self.scope.agency_of(reference, self.consent)
                if found is not None:
                    return found
        return None

    def _granted_by(self) -> GrantedBy:
        for reference in self.node.children("grantor" if self.r5 else "performer"):
            target = self.scope.resources.resolve(reference, self.consent)
            kind = reference_type(reference, target)
            granted_by = GRANTED_BY.get(kind or "")
            if granted_by is not None:
                return granted_by
        return GrantedBy.SURVIVOR

    def _period(self) -> Node | None:
        if self.r5:
            return self.node.child("period")
        provision = self.node.child("provision")
        return provision.child("period") if provision is not None else None

    def _scope_entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for actors, purposes, categories in self._blocks(self.node.children("provision"), [], []):
            if not purposes:
                continue
            onward = [
                named
                for actor in actors
                if self._has_role(actor, {ONWARD_REFERRER_ROLE})
                and (named := self._named(actor)) is not None
            ]
            for actor in actors:
                recipient = self._recipient(actor)
                if recipient is None:
                    continue
                entries.append(
                    {
                        **recipient,
                        "purposes": purposes,
                        "categories": categories,
                        # Only a recipient she also names, in the same provision, as one
                        # that may refer her onward; an onward role alone grants nothing.
                        "may_refer_onward": recipient in onward,
                    }
                )
        return entries

    def _blocks(
        self, provisions: list[Node], purposes: list[str], categories: list[str]
    ) -> list[tuple[list[Node], list[str], list[str]]]:
        blocks = []
        for provision in provisions:
            if provision.text("type") == "deny":
                raise provision.fail(
                    "deny provisions are not mapped; record what she agreed to as permits",
                    "type",
                )
            # Codes the hub does not know are left out: that narrows what is
            # shared, never widens it.
            own_purposes = [
                purpose.value
                for system, code, _ in _codings_of(provision, "purpose")
                if (purpose := PURPOSE_FROM_CODING.get((system or "", code or ""))) is not None
            ]
            own_categories = [
                category.value
                for system, code, _ in _codings_of(provision, "securityLabel")
                if (category := category_from_coding(system, code)) is not None
            ]
            block_purposes = own_purposes or purposes
            block_categories = own_categories or categories
            blocks.append((provision.children("actor"), block_purposes, block_categories))
            blocks += self._blocks(
                provision.children("provision"), block_purposes, block_categories
            )
        return blocks

    def _recipient(self, actor: Node) -> dict[str, str] | None:
        role = actor.child("role")
        if role is not None and not self._has_role(actor, RECIPIENT_ROLES):
            return None
        return self._named(actor)

    @staticmethod
    def _has_role(actor: Node, roles: Collection[tuple[str, str]]) -> bool:
        role = actor.child("role")
        return role is not None and any(
            (system, code) in roles for system, code, _ in codings(role)
        )

    def _named(self, actor: Node) -> dict[str, str] | None:
        """The agency, or kind of agency, an actor's reference names."""
        reference = actor.child("reference")
        if reference is None:
            return None
        agency = self.scope.agency_of(reference, self.consent)
        if agency is not None:
            return {"recipient_agency": agency}
        kind = identifier_value(reference, AGENCY_KIND_SYSTEM)
        if kind is not None:
            return {"recipient_kind": kind}
        return None


def _codings_of(node: Node, key: str) -> list[tuple[str | None, str | None, Node]]:
    # purpose and securityLabel are lists of Coding, not CodeableConcepts.
    return [(c.text("system"), c.text("code"), c) for c in node.children(key)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
