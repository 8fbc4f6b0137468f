"""One row of the agency's tables to and from canonical events; no database here.

Decoding is deterministic: the event id is derived from the agency, the table
and the row key, and the event time is the moment the hub first took the row
in (kept in the ledger), so a row taken in again after a crash makes the same
event and the hub's intake answers it as a retry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from hub.adapters.pseudonyms import subject_id
from hub.config.social_db import OutgoingSource, SocialDbDelivery
from hub.contracts import CloudEvent
from hub.contracts.envelope import new_event, pydantic_errors
from hub.contracts.events import (
    EventPayload,
    ReferralOutcomeReportedV1,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
)
from hub.contracts.events.referral import OUTCOME_DOMAINS, OutcomeCode
from hub.errors import AdapterError

__all__ = ["decode_row", "encode_row", "row_event_id"]

_ROW_NAMESPACE = uuid.UUID("2f6c1f7e-5d0b-4c83-a0f4-3b9b1e6a7c52")

_PAYLOAD_MODELS: dict[str, type[EventPayload]] = {
    "referral": ReferralRequestedV2,
    "status": ReferralStatusChangedV1,
    "outcome": ReferralOutcomeReportedV1,
}


def row_event_id(agency_id: str, table: str, key: str) -> str:
    """The id of the event a row makes: stable for that row, distinct across agencies."""
    return str(uuid.uuid5(_ROW_NAMESPACE, f"{agency_id}|{table}|{key}"))


def decode_row(
    row: Mapping[str, Any],
    *,
    agency_id: str,
    source: OutgoingSource,
    settings: SocialDbDelivery,
    pseudonym_key: bytes,
    taken_at: datetime,
) -> CloudEvent:
    """The canonical event one row of ``source`` stands for, or AdapterError naming the column."""
    reader = _RowReader(row, source, settings)
    key = reader.key()
    data = _DATA_BUILDERS[source.kind](reader, agency_id, pseudonym_key)
    payload = _validated(_PAYLOAD_MODELS[source.kind], data, source)
    return new_event(
        payload,
        source=agency_id,
        event_id=row_event_id(agency_id, source.table, key),
        time=taken_at,
        consent_id=getattr(payload, "consent_id", None),
    )


def encode_row(event: CloudEvent, settings: SocialDbDelivery) -> dict[str, Any]:
    """The inbound-table row for a delivered event: column -> value, absent fields as NULL."""
    if settings.inbound is None:
        raise AdapterError("this agency's mapping names no inbound table", path="inbound")
    envelope: dict[str, Any] = {
        "event_id": event.id,
        "event_type": event.type,
        "source": event.source,
        "time": event.time,
        "payload": json.dumps(event.data, ensure_ascii=False, sort_keys=True),
    }
    reverse = {
        field: {hub: local for local, hub in codes.items()}
        for field, codes in settings.value_maps.items()
    }
    row: dict[str, Any] = {}
    for field, column in settings.inbound.columns.items():
        value = envelope[field] if field in envelope else event.data.get(field)
        if isinstance(value, str) and field in reverse:
            value = reverse[field].get(value, value)
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        row[column] = value
    return row


class _RowReader:
    """Reads canonical fields out of a row, through the mapping and its value maps."""

    def __init__(
        self, row: Mapping[str, Any], source: OutgoingSource, settings: SocialDbDelivery
    ) -> None:
        self._row = row
        self._source = source
        self._maps = settings.value_maps

    def path(self, field: str) -> str:
        return f"{self._source.table}.{self._source.columns.get(field, field)}"

    def key(self) -> str:
        value = self._row.get(self._source.key)
        if value is None:
            path = f"{self._source.table}.{self._source.key}"
            raise AdapterError("the row has no key", path=path)
        return str(value)

    def raw(self, field: str) -> Any:
        column = self._source.columns.get(field)
        if column is None:
            return None
        if column not in self._row:
            raise AdapterError("the mapped column is not in the row", path=self.path(field))
        return self._row[column]

    def text(self, field: str) -> str | None:
        value = self.raw(field)
        if value is None:
            return None
        if isinstance(value, bytes):
            try:
                value = value.decode()
            except UnicodeDecodeError:
                raise AdapterError("not UTF-8 text", path=self.path(field)) from None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise AdapterError(
                f"expected text, found {type(value).__name__}", path=self.path(field)
            )
        text = str(value).strip()
        return text or None

    def code(self, field: str) -> str | None:
        """A code through the field's value map; an unmapped code passes as written."""
        value = self.text(field)
        if value is None:
            return None
        mapped = self._maps.get(field)
        if mapped is None:
            return value
        if value in mapped:
            return mapped[value]
        if value in mapped.values():
            return value
        raise AdapterError(f"no mapping for the code {value!r}", path=self.path(field))

    def moment(self, field: str) -> str | None:
        value = self.raw(field)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise AdapterError(
                    f"not an ISO 8601 date-time: {value!r}", path=self.path(field)
                ) from None
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise AdapterError(
                f"expected a date-time, found {type(value).__name__}", path=self.path(field)
            )
        # Most agency databases keep naive timestamps; the hub reads them as UTC.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()

    def flag(self, field: str) -> bool | None:
        value = self.raw(field)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _FLAGS:
            return _FLAGS[value.strip().lower()]
        raise AdapterError(f"expected a yes/no value, found {value!r}", path=self.path(field))


_FLAGS = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}


def _referral(reader: _RowReader, agency_id: str, key: bytes) -> dict[str, Any]:
    local_ref = reader.text("subject_ref")
    if local_ref is None:
        path = reader.path("subject_ref")
        raise AdapterError("the survivor's case reference is empty", path=path)
    data: dict[str, Any] = {
        "referral_id": reader.text("referral_id"),
        "from_agency": agency_id,
        "to_agency": reader.code("to_agency"),
        "subject_id": _pseudonym(key, agency_id, local_ref),
        "service": reader.code("service"),
        "priority": reader.code("priority"),
        "consent_id": reader.text("consent_id"),
        "due_by": reader.moment("due_by"),
        "reason": reader.text("reason"),
        "narrative": reader.text("narrative"),
    }
    risk = reader.code("risk_level")
    if risk is not None:
        data["safety_risk"] = {"level": risk}
    phone, do_not_contact = reader.text("phone"), reader.flag("do_not_contact")
    if phone is not None or do_not_contact is not None:
        data["contact"] = {"phone": phone, "do_not_contact": bool(do_not_contact)}
    return data


def _pseudonym(key: bytes, agency_id: str, local_ref: str) -> str:
    """The agency's case reference as a pseudonym; one the hub delivered stays as it is.

    An agency referring her onward cites the subject id it received from the hub, so
    the referral is about the same survivor as the consent it travels under.
    """
    if local_ref.startswith("sub_"):
        return local_ref
    return subject_id(key, f"urn:referral-hub:{agency_id}:case", local_ref)


def _status(reader: _RowReader, _agency_id: str, _key: bytes) -> dict[str, Any]:
    return {
        "referral_id": reader.text("referral_id"),
        "status": reader.code("status"),
        "status_reason": reader.text("status_reason"),
        "note": reader.text("note"),
    }


def _outcome(reader: _RowReader, _agency_id: str, _key: bytes) -> dict[str, Any]:
    data: dict[str, Any] = {
        "referral_id": reader.text("referral_id"),
        "outcome": reader.code("outcome"),
        "occurred_at": reader.moment("occurred_at"),
        "note": reader.text("note"),
    }
    outcome = data["outcome"]
    domain = _outcome_domain(outcome) if outcome is not None else None
    if domain is not None:
        data["domain"] = domain
    return data


def _outcome_domain(outcome: str) -> str | None:
    try:
        return OUTCOME_DOMAINS[OutcomeCode(outcome)].value
    except ValueError:
        return None


_DATA_BUILDERS = {"referral": _referral, "status": _status, "outcome": _outcome}


def _validated(
    model: type[EventPayload], data: dict[str, Any], source: OutgoingSource
) -> EventPayload:
    present = {name: value for name, value in data.items() if value is not None}
    if "contact" in present:
        present["contact"] = {k: v for k, v in present["contact"].items() if v is not None}
    try:
        return model.model_validate_json(json.dumps(present))
    except ValidationError as exc:
        path, message = pydantic_errors(exc)[0]
        column = source.columns.get(path.split(".")[0], path)
        raise AdapterError(f"{path}: {message}", path=f"{source.table}.{column}") from None
