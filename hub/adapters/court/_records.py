"""Court registry records to and from canonical events; no file format here.

A record is what one XML element or one CSV row holds: its kind, the
registry's record id, when the registry recorded it, and its fields by
element name. The event a record makes has an id derived from the sending
agency and the record id, and the recorded moment as its time, so the same
record sent twice (in one file or two) is the same event, taken once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from hub.adapters.directory import Directory
from hub.adapters.pseudonyms import subject_id
from hub.contracts import CloudEvent, new_event
from hub.contracts.envelope import pydantic_errors
from hub.contracts.events import (
    EventPayload,
    ReferralOutcomeReportedV1,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
)
from hub.contracts.events.referral import OUTCOME_DOMAINS, OutcomeCode
from hub.contracts.registry import ContractRegistry
from hub.errors import AdapterError

__all__ = ["RECORD_FIELDS", "Record", "RecordKind", "record_event_id", "record_of", "to_event"]

RecordKind = Literal["referral", "status-change", "outcome", "notice"]

_NAMESPACE = uuid.UUID("8d3a3e0c-2b7f-4f65-9d0e-5c4b1a2f7e91")

#: The fields of each kind, in the order the XML schema lists them.
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "referral": (
        "referral-id",
        "to",
        "subject-ref",
        "service",
        "priority",
        "consent-ref",
        "due-by",
        "reason",
        "narrative",
        "risk-level",
        "case-number",
        "complaint-filed",
        "protection-order",
        "data",
    ),
    "status-change": ("referral-id", "status", "business-status", "status-reason", "note"),
    "outcome": ("referral-id", "outcome", "occurred-at", "next-step-at", "case-number", "note"),
    "notice": ("payload",),
}
#: Fields whose value is a code and may name its system.
CODED = frozenset({"service", "priority", "risk-level", "protection-order", "status", "outcome"})


@dataclass(frozen=True)
class Record:
    kind: RecordKind
    record_id: str
    recorded_at: datetime
    fields: Mapping[str, str]
    #: ``system`` of the coded fields that name one.
    systems: Mapping[str, str] = field(default_factory=dict)
    #: Where the record sits in its file: an XPath or a CSV line, for errors and receipts.
    where: str = ""
    #: For notices: the event's type, version, source and referral.
    attributes: Mapping[str, str] = field(default_factory=dict)

    def at(self, name: str) -> str:
        return f"{self.where}/{name}" if self.where.startswith("/") else f"{self.where}: {name}"


def record_event_id(sender: str, record_id: str) -> str:
    """The event id of a registry's record: stable for it, distinct across agencies."""
    return str(uuid.uuid5(_NAMESPACE, f"{sender}|{record_id}"))


def to_event(
    record: Record, *, sender: str, directory: Directory, pseudonym_key: bytes
) -> CloudEvent:
    """The canonical event a record stands for, or AdapterError naming its element."""
    if record.kind == "notice":
        raise AdapterError("notices are written by the hub only", path=record.where)
    builder = _BUILDERS[record.kind]
    model, data = builder(record, sender, directory, pseudonym_key)
    payload = _validated(model, data, record)
    return new_event(
        payload,
        source=sender,
        event_id=record_event_id(sender, record.record_id),
        time=record.recorded_at,
        consent_id=getattr(payload, "consent_id", None),
    )


def record_of(event: CloudEvent, registry: ContractRegistry, directory: Directory) -> Record:
    """The record a delivered event is written as; other types become notices."""
    data = event.data
    kind: RecordKind
    fields: dict[str, str] = {}
    if event.type == "referral.requested":
        kind = "referral"
        legal = data.get("legal") or {}
        fields = _present(
            {
                "referral-id": data["referral_id"],
                "to": directory.external_name(data["to_agency"]),
                "subject-ref": data["subject_id"],
                "service": data["service"],
                "priority": data["priority"],
                "consent-ref": data["consent_id"],
                "due-by": _utc(data.get("due_by")),
                "reason": data.get("reason"),
                "narrative": data.get("narrative"),
                "risk-level": (data.get("safety_risk") or {}).get("level"),
                "case-number": legal.get("case_number"),
                "complaint-filed": _flag(legal.get("complaint_filed")),
                "protection-order": legal.get("protection_order"),
                # Everything else the recipient may see (contact, identity, medical,
                # evidence, further services) travels whole, as the contract's JSON.
                "data": json.dumps(data, ensure_ascii=False, sort_keys=True),
            }
        )
    elif event.type == "referral.status-changed":
        kind = "status-change"
        fields = _present(
            {
                "referral-id": data["referral_id"],
                "status": data["status"],
                "business-status": data.get("business_status"),
                "status-reason": data.get("status_reason"),
                "note": data.get("note"),
            }
        )
    elif event.type == "referral.outcome-reported":
        kind = "outcome"
        fields = _present(
            {
                "referral-id": data["referral_id"],
                "outcome": data["outcome"],
                "occurred-at": _utc(data["occurred_at"]),
                "next-step-at": _utc(data.get("next_step_at")),
                "case-number": data.get("case_number"),
                "note": data.get("note"),
            }
        )
    else:
        return Record(
            "notice",
            event.id,
            event.time.astimezone(UTC),
            {"payload": json.dumps(data, ensure_ascii=False, sort_keys=True)},
            attributes=_present(
                {
                    "type": event.type,
                    "version": str(registry.contract_of(event).version),
                    "source": event.source,
                    "referral": data.get("referral_id"),
                    **_delivered_under(event),
                }
            ),
        )
    return Record(
        kind, event.id, event.time.astimezone(UTC), fields, attributes=_delivered_under(event)
    )


def _delivered_under(event: CloudEvent) -> dict[str, str]:
    """The consent, or the compelled disclosure, a delivery went under: the registry's to know."""
    under = {"consent": event.consentid, "override": event.extensions.get("overrideid")}
    return {name: str(value) for name, value in under.items() if value is not None}


def _utc(value: str | None) -> str | None:
    """A date-time in UTC: XML Schema admits offsets up to 14 hours, RFC 3339 more."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


def _present(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in values.items() if value is not None}


def _flag(value: object) -> str | None:
    return None if value is None else ("true" if value else "false")


def _text(record: Record, name: str) -> str | None:
    """The value as written; blank counts as absent (XML and CSV cannot tell them apart)."""
    value = record.fields.get(name)
    if value is None or not value.strip():
        return None
    return value


def _moment(record: Record, name: str) -> str | None:
    value = _text(record, name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise AdapterError(f"not a date-time: {value!r}", path=record.at(name)) from None
    if moment.tzinfo is None:
        raise AdapterError(f"{value!r} has no UTC offset", path=record.at(name))
    return moment.isoformat()


def _boolean(record: Record, name: str) -> bool | None:
    value = _text(record, name)
    if value is None:
        return None
    value = value.strip()
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise AdapterError(f"expected true or false, not {value!r}", path=record.at(name))


def _code(record: Record, name: str, directory: Directory, kind: str) -> str | None:
    value = _text(record, name)
    if value is None:
        return None
    value = value.strip()
    system = record.systems.get(name)
    if kind in ("service", "outcome", "status"):
        return directory.code(kind, value, system, element=record.at(name))  # type: ignore[arg-type]
    if system is not None:
        raise AdapterError(f"{name} takes the hub's own codes, not {system}", path=record.at(name))
    return value


_Built = tuple[type[EventPayload], dict[str, Any]]


def _referral(record: Record, sender: str, directory: Directory, key: bytes) -> _Built:
    data: dict[str, Any] = {}
    extra = _text(record, "data")
    if extra is not None:
        try:
            decoded = json.loads(extra)
        except ValueError:
            raise AdapterError("data is not JSON", path=record.at("data")) from None
        if not isinstance(decoded, dict):
            raise AdapterError("data is not a JSON object", path=record.at("data"))
        data.update(decoded)
    to = _text(record, "to")
    party = _text(record, "subject-ref")
    if to is None or party is None:
        missing = "to" if to is None else "subject-ref"
        raise AdapterError("missing", path=record.at(missing))
    data.update(
        {
            "referral_id": _text(record, "referral-id"),
            "from_agency": sender,
            "to_agency": directory.agency(to, element=record.at("to")),
            "service": _code(record, "service", directory, "service"),
            "priority": _code(record, "priority", directory, "priority"),
            "consent_id": _text(record, "consent-ref"),
            "due_by": _moment(record, "due-by"),
            "reason": _text(record, "reason"),
            "narrative": _text(record, "narrative"),
        }
    )
    # A registry's own party id becomes a pseudonym; a pseudonym the hub wrote stays.
    if party.startswith("sub_"):
        data["subject_id"] = party
    else:
        data["subject_id"] = subject_id(key, f"urn:referral-hub:{sender}:party", party)
    risk = _code(record, "risk-level", directory, "risk")
    if risk is not None:
        data["safety_risk"] = {**(data.get("safety_risk") or {}), "level": risk}
    legal = {
        "case_number": _text(record, "case-number"),
        "complaint_filed": _boolean(record, "complaint-filed"),
        "protection_order": _code(record, "protection-order", directory, "order"),
    }
    if any(value is not None for value in legal.values()):
        data["legal"] = {**(data.get("legal") or {}), **_without_none(legal)}
    return ReferralRequestedV3, data


def _status(record: Record, _sender: str, directory: Directory, _key: bytes) -> _Built:
    return ReferralStatusChangedV1, {
        "referral_id": _text(record, "referral-id"),
        "status": _code(record, "status", directory, "status"),
        "business_status": _text(record, "business-status"),
        "status_reason": _text(record, "status-reason"),
        "note": _text(record, "note"),
    }


def _outcome(record: Record, _sender: str, directory: Directory, _key: bytes) -> _Built:
    outcome = _code(record, "outcome", directory, "outcome")
    data: dict[str, Any] = {
        "referral_id": _text(record, "referral-id"),
        "outcome": outcome,
        "occurred_at": _moment(record, "occurred-at"),
        "next_step_at": _moment(record, "next-step-at"),
        "case_number": _text(record, "case-number"),
        "note": _text(record, "note"),
    }
    if outcome is not None:
        data["domain"] = OUTCOME_DOMAINS[OutcomeCode(outcome)].value
    return ReferralOutcomeReportedV1, data


_BUILDERS = {"referral": _referral, "status-change": _status, "outcome": _outcome}

_FIELD_ELEMENTS = {
    "referral_id": "referral-id",
    "to_agency": "to",
    "subject_id": "subject-ref",
    "consent_id": "consent-ref",
    "due_by": "due-by",
    "safety_risk": "risk-level",
    "status_reason": "status-reason",
    "business_status": "business-status",
    "occurred_at": "occurred-at",
    "next_step_at": "next-step-at",
    "case_number": "case-number",
}


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _validated(model: type[EventPayload], data: dict[str, Any], record: Record) -> EventPayload:
    try:
        return model.model_validate_json(json.dumps(_without_none(data)))
    except ValidationError as exc:
        path, message = pydantic_errors(exc)[0]
        top = path.split(".")[0]
        element = _FIELD_ELEMENTS.get(top, top.replace("_", "-"))
        raise AdapterError(message, path=record.at(element)) from None
