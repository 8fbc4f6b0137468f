"""Consent policy: may this recipient receive this, and which categories of it.

Pure functions over a consent as it stood at a given instant; the store keeps the
history that answers "which consent was in force at time T".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.contracts import AgencyKind, DataCategory, Purpose, field_categories
from hub.contracts.events import ConsentScope, ConsentScopeV2, EventPayload, FailureReason

__all__ = [
    "ConsentRecord",
    "Permit",
    "Recipient",
    "Redaction",
    "allows_statistics",
    "may_refer_under",
    "permit",
    "redact",
]

ALL_CATEGORIES = frozenset(DataCategory)


@dataclass(frozen=True)
class Recipient:
    agency_id: str
    kind: AgencyKind


@dataclass(frozen=True)
class ConsentRecord:
    """A consent as recorded at one moment of its history."""

    consent_id: str
    subject_id: str
    recorded_by: str
    status: str  # active | withdrawn
    scope: tuple[ConsentScope, ...]
    valid_from: datetime
    valid_until: datetime | None

    @classmethod
    def from_scope_json(
        cls,
        *,
        consent_id: str,
        subject_id: str,
        recorded_by: str,
        status: str,
        scope: list[dict[str, Any]],
        valid_from: datetime,
        valid_until: datetime | None,
    ) -> ConsentRecord:
        return cls(
            consent_id=consent_id,
            subject_id=subject_id,
            recorded_by=recorded_by,
            status=status,
            # Read as the newest scope entry: a v1 entry is one that refers no one onward.
            scope=tuple(ConsentScopeV2.model_validate_json(json.dumps(item)) for item in scope),
            valid_from=valid_from,
            valid_until=valid_until,
        )


@dataclass(frozen=True)
class Permit:
    allowed: bool
    categories: frozenset[DataCategory]
    reason: FailureReason | None = None
    detail: str = ""


def permit(
    consent: ConsentRecord | None,
    recipient: Recipient,
    purpose: Purpose,
    at: datetime,
) -> Permit:
    """Whether ``consent`` covers ``recipient`` for ``purpose`` at ``at``, and for what."""
    if consent is None:
        return _deny(FailureReason.CONSENT_MISSING, "no consent is on record for this referral")
    if consent.status == "withdrawn":
        return _deny(FailureReason.CONSENT_WITHDRAWN, f"consent {consent.consent_id} was withdrawn")
    if at < consent.valid_from:
        return _deny(FailureReason.CONSENT_SCOPE, f"consent {consent.consent_id} is not yet valid")
    if consent.valid_until is not None and at >= consent.valid_until:
        return _deny(FailureReason.CONSENT_EXPIRED, f"consent {consent.consent_id} has expired")
    if recipient.agency_id == consent.recorded_by:
        # The agency that recorded her consent already holds her data.
        return Permit(True, ALL_CATEGORIES)
    matching = [entry for entry in consent.scope if _names(entry, recipient)]
    if not matching:
        return _deny(
            FailureReason.CONSENT_SCOPE,
            f"consent {consent.consent_id} does not name {recipient.agency_id}",
        )
    granted = [entry for entry in matching if purpose in entry.purposes]
    if not granted:
        return _deny(
            FailureReason.CONSENT_SCOPE,
            f"consent {consent.consent_id} does not cover {purpose.value} "
            f"for {recipient.agency_id}",
        )
    return Permit(True, frozenset(c for entry in granted for c in entry.categories))


def allows_statistics(consent: ConsentRecord | None) -> bool:
    """Whether she agreed that her de-identified data may be counted in aggregates.

    A scope entry naming the ``statistics`` purpose says so (whoever it names:
    no one receives her data for it, only counts). A withdrawn consent counts no one.
    """
    return (
        consent is not None
        and consent.status != "withdrawn"
        and any(Purpose.STATISTICS in entry.purposes for entry in consent.scope)
    )


def may_refer_under(consent: ConsentRecord, agency_id: str, kind: AgencyKind | None) -> bool:
    """Whether the agency may send referrals under ``consent`` at all.

    Her consent is what she told the agency that recorded it: that agency refers
    under it, and so does a recipient she named as one that may refer her onward.
    Any other agency that merely saw the consent id (a recipient of a referral
    made under it, say) does not. An agency of no known ``kind`` (no longer
    configured) can be named by its id only.
    """
    if agency_id == consent.recorded_by:
        return True
    return any(
        isinstance(entry, ConsentScopeV2)
        and entry.may_refer_onward
        and (
            entry.recipient_agency == agency_id
            or (kind is not None and entry.recipient_kind == kind)
        )
        for entry in consent.scope
    )


def _names(entry: ConsentScope, recipient: Recipient) -> bool:
    return entry.recipient_agency == recipient.agency_id or entry.recipient_kind == recipient.kind


def _deny(reason: FailureReason, detail: str) -> Permit:
    return Permit(False, frozenset(), reason, detail)


@dataclass(frozen=True)
class Redaction:
    """One recipient's copy of a payload and what was kept from it."""

    data: dict[str, Any]
    disclosed: tuple[DataCategory, ...]
    withheld: tuple[DataCategory, ...]
    withheld_fields: tuple[str, ...]


def redact(payload: EventPayload, allowed: frozenset[DataCategory]) -> Redaction:
    """The payload's JSON data without the fields of categories not ``allowed``.

    A categorised field travels whole or not at all: contact details never lose
    their do-not-contact and safe-channel preferences on the way.
    """
    data = payload.model_dump(mode="json", exclude_none=True)
    disclosed: set[DataCategory] = set()
    withheld: set[DataCategory] = set()
    withheld_fields: list[str] = []
    for name, category in field_categories(type(payload)).items():
        if category is None or name not in data:
            continue
        if category in allowed:
            disclosed.add(category)
        else:
            withheld.add(category)
            withheld_fields.append(name)
            del data[name]
    return Redaction(
        data, tuple(sorted(disclosed)), tuple(sorted(withheld)), tuple(withheld_fields)
    )
