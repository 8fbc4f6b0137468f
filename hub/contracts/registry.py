"""The contract registry: (type, version) to model, JSON Schema, example and casters.

Versions of a type evolve under a declared compatibility mode. Casters convert
between adjacent versions, so any consumer reads the version it was written for:
``cast`` chains them step by step (v1→v2→v3, or down again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError

from hub.contracts._uris import dataschema_uri, parse_dataschema
from hub.contracts.compatibility import CompatibilityMode
from hub.contracts.envelope import CloudEvent, pydantic_errors
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentWithdrawnV1,
    DeliveryFailedV1,
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    EventPayload,
    LegalOrderDeclinedV1,
    LegalOrderIssuedV1,
    ReferralOutcomeReportedV1,
    ReferralOverdueV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
)
from hub.contracts.examples import EXAMPLES
from hub.errors import InvalidPayload, UnknownEventType, UnknownVersion

__all__ = ["Caster", "Contract", "ContractRegistry", "build_registry", "default_registry"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Converts the JSON ``data`` of one version to the adjacent one.
Caster = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Contract:
    """One event type at one version."""

    model: type[EventPayload]
    summary: str
    compatibility: CompatibilityMode
    example: EventPayload
    changes: str = ""

    @property
    def event_type(self) -> str:
        return self.model.event_type

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def dataschema(self) -> str:
        return dataschema_uri(self.event_type, self.version)

    def json_schema(self) -> dict[str, Any]:
        return _json_schema(self.model, self.summary, self.compatibility)

    def validate_data(
        self, data: Mapping[str, Any], *, prefix: str = "data", data_json: bytes | None = None
    ) -> EventPayload:
        """The payload model, or InvalidPayload naming every offending field.

        ``data_json``, when given, is the JSON text ``data`` was read from:
        validating it saves writing ``data`` out again.
        """
        try:
            # JSON mode keeps validation strict (no "1" for 1) while accepting
            # enums and timestamps in their JSON spelling.
            text = data_json if data_json is not None else json.dumps(data)
            return self.model.model_validate_json(text, strict=True)
        except ValidationError as exc:
            raise InvalidPayload(pydantic_errors(exc, prefix)) from exc


@cache
def _json_schema(
    model: type[EventPayload], summary: str, compatibility: CompatibilityMode
) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": dataschema_uri(model.event_type, model.version),
        "title": f"{model.event_type} v{model.version}",
        "description": summary,
        "x-event-type": model.event_type,
        "x-version": model.version,
        "x-compatibility": compatibility.value,
        **{key: value for key, value in schema.items() if key not in {"title", "description"}},
    }


@dataclass
class ContractRegistry:
    _contracts: dict[tuple[str, int], Contract] = field(default_factory=dict)
    _casters: dict[tuple[str, int, int], Caster] = field(default_factory=dict)

    def register(self, contract: Contract) -> None:
        self._contracts[(contract.event_type, contract.version)] = contract

    def register_casters(self, event_type: str, lower: int, up: Caster, down: Caster) -> None:
        """Casters between ``lower`` and ``lower + 1`` of one type, both ways."""
        self._casters[(event_type, lower, lower + 1)] = up
        self._casters[(event_type, lower + 1, lower)] = down

    def types(self) -> list[str]:
        return sorted({event_type for event_type, _ in self._contracts})

    def versions(self, event_type: str) -> list[int]:
        found = sorted(version for name, version in self._contracts if name == event_type)
        if not found:
            raise UnknownEventType(event_type)
        return found

    def __iter__(self) -> Iterator[Contract]:
        for key in sorted(self._contracts):
            yield self._contracts[key]

    def get(self, event_type: str, version: int) -> Contract:
        contract = self._contracts.get((event_type, version))
        if contract is None:
            self.versions(event_type)  # raises UnknownEventType first
            raise UnknownVersion(event_type, f"v{version}")
        return contract

    def latest(self, event_type: str) -> Contract:
        return self.get(event_type, self.versions(event_type)[-1])

    def contract_of(self, event: CloudEvent) -> Contract:
        """The contract an envelope names through ``type`` and ``dataschema``."""
        named = parse_dataschema(event.dataschema)
        if named is None:
            self.versions(event.type)
            raise UnknownVersion(event.type, event.dataschema)
        schema_type, version = named
        if schema_type != event.type:
            raise InvalidPayload(
                [("dataschema", f"names type {schema_type!r}, not {event.type!r}")]
            )
        return self.get(event.type, version)

    def parse(self, event: CloudEvent, *, data_json: bytes | None = None) -> EventPayload:
        """Validate an envelope's data against its contract and check the subject.

        ``data_json`` is the JSON text the event's data was read from, if at hand.
        """
        payload = self.contract_of(event).validate_data(event.data, data_json=data_json)
        if payload.subject != event.subject:
            raise InvalidPayload(
                [("subject", f"must equal data.{payload.subject_field} ({payload.subject!r})")]
            )
        consent_id = getattr(payload, "consent_id", None)
        if consent_id is not None and event.consentid not in (None, consent_id):
            raise InvalidPayload([("consentid", "differs from data.consent_id")])
        return payload

    def cast(self, event: CloudEvent, to_version: int) -> CloudEvent:
        """The same event expressed in another version of its contract."""
        contract = self.contract_of(event)
        self.get(event.type, to_version)
        data: dict[str, Any] = dict(event.data)
        version = contract.version
        step = 1 if to_version > version else -1
        while version != to_version:
            caster = self._casters.get((event.type, version, version + step))
            if caster is None:
                raise UnknownVersion(event.type, f"v{version + step} (no caster)")
            data = caster(data)
            version += step
        return event.with_data(data, dataschema=dataschema_uri(event.type, to_version))


def _referral_requested_v1_to_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    return {**data, "additional_services": []}


def _referral_requested_v2_to_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    # A v1 reader has room for one service: it gets the main one.
    return {key: value for key, value in data.items() if key != "additional_services"}


def _referral_requested_v2_to_v3(data: Mapping[str, Any]) -> dict[str, Any]:
    # A v2 request classified nothing: the incident stays absent, as if withheld.
    return dict(data)


def _referral_requested_v3_to_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    # A v2 reader has no word for the classification; it never reaches one.
    return {key: value for key, value in data.items() if key != "incident"}


def _consent_granted_v1_to_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    # A v1 consent lets no recipient refer onward: only the recording agency refers.
    return {**data, "scope": [{**entry, "may_refer_onward": False} for entry in data["scope"]]}


def _consent_granted_v2_to_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    # A v1 reader has no word for onward referral; the hub enforces it all the same.
    return {
        **data,
        "scope": [
            {key: value for key, value in entry.items() if key != "may_refer_onward"}
            for entry in data["scope"]
        ],
    }


def _disclosure_compelled_v1_to_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    return dict(data)


def _disclosure_compelled_v2_to_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    # A v1 reader knows no orders: the order stays named in ``legal_reference``.
    return {key: value for key, value in data.items() if key != "order_id"}


_SUMMARIES: tuple[tuple[type[EventPayload], str, CompatibilityMode, str], ...] = (
    (
        ReferralRequestedV1,
        "One agency asks another to provide a service to a survivor.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        ReferralRequestedV2,
        "One agency asks another to provide one or more services to a survivor.",
        CompatibilityMode.BACKWARD,
        "Adds `additional_services`: further services asked of the same agency. "
        "Up-cast from v1 sets it empty; down-cast to v1 keeps the main `service` only.",
    ),
    (
        ReferralRequestedV3,
        "One agency asks another to provide one or more services to a survivor, with the "
        "incident classified.",
        CompatibilityMode.BACKWARD,
        "Adds `incident` (data category `incident`): the forms of violence as the six GBVIMS "
        "core types, technology facilitation (online harassment, threats, image-based abuse), "
        "the perpetrator (intimate partner, family member, other), her age band (never her "
        "birth date) and her first point of contact. Up-cast from v2 leaves it absent; "
        "down-cast to v2 drops it.",
    ),
    (
        ReferralStatusChangedV1,
        "The agency handling a referral moves it to a new status; the referrer always hears.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        ReferralOutcomeReportedV1,
        "What came of a referral: a health, social or justice outcome.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        ConsentGrantedV1,
        "A survivor (or guardian) agrees to share data with named recipients, as recorded "
        "by an agency.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        ConsentGrantedV2,
        "A survivor (or guardian) agrees to share data with named recipients, as recorded "
        "by an agency, and says which of them may refer her onward.",
        CompatibilityMode.BACKWARD,
        "Adds `may_refer_onward` to each scope entry: the recipient it names may itself refer "
        "her, under this consent, to recipients the consent names. Up-cast from v1 sets it "
        "false (only the recording agency refers under a v1 consent); down-cast to v1 drops it.",
    ),
    (
        ConsentWithdrawnV1,
        "A survivor withdraws a consent: routing under it stops and past recipients are told.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        DisclosureCompelledV1,
        "The agency holding a referral's data (its referrer) discloses it without her consent "
        "because the law requires it; the hub delivers, records the override and asks the agency "
        "that recorded her consent to inform her.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        DisclosureCompelledV2,
        "As v1; the disclosure may answer a legal order, which then bounds its recipient and "
        "categories.",
        CompatibilityMode.BACKWARD,
        "Adds `order_id`: the `legal.order-issued` event the disclosure answers. Up-cast from v1 "
        "leaves it absent; down-cast to v1 drops it.",
    ),
    (
        LegalOrderIssuedV1,
        "A court or prosecution orders the agency that referred her to disclose named data "
        "categories; the hub carries it to that agency only and never answers for it.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        LegalOrderDeclinedV1,
        "The agency holding the data declines a legal order and says why; the issuer hears it.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        DeliveryFailedV1,
        "The hub tells a sender that an event did not reach a recipient, and why.",
        CompatibilityMode.BACKWARD,
        "",
    ),
    (
        ReferralOverdueV1,
        "The hub tells a referral's referrer and receiving agency that a time limit passed: the "
        "pathway step's within_hours before an answer, or the due_by before it was closed. Once "
        "per referral and limit; no survivor data.",
        CompatibilityMode.BACKWARD,
        "",
    ),
)


def build_registry() -> ContractRegistry:
    """A fresh registry holding every built-in contract and caster."""
    registry = ContractRegistry()
    for model, summary, mode, changes in _SUMMARIES:
        example = EXAMPLES[(model.event_type, model.version)]
        registry.register(Contract(model, summary, mode, example, changes))
    registry.register_casters(
        "referral.requested", 1, _referral_requested_v1_to_v2, _referral_requested_v2_to_v1
    )
    registry.register_casters(
        "referral.requested", 2, _referral_requested_v2_to_v3, _referral_requested_v3_to_v2
    )
    registry.register_casters(
        "consent.granted", 1, _consent_granted_v1_to_v2, _consent_granted_v2_to_v1
    )
    registry.register_casters(
        "disclosure.compelled", 1, _disclosure_compelled_v1_to_v2, _disclosure_compelled_v2_to_v1
    )
    return registry


@cache
def default_registry() -> ContractRegistry:
    """The built-in registry, built once; tests that extend one use ``build_registry``."""
    return build_registry()
