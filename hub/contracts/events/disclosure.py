"""Compelled disclosure: the law requires a disclosure her consent does not cover."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from hub.contracts.categories import DataCategory, uncategorised_text
from hub.contracts.events._base import (
    AgencyId,
    EventPayload,
    Identifier,
    ShortText,
    StorableDatetime,
)

__all__ = ["DisclosureCompelledV1", "DisclosureCompelledV2", "LegalBasis"]


#: Why the legal ground travels outside the categories: it is about the order, not her.
_LEGAL_GROUND = "the legal ground every recipient must read; never about her"


class LegalBasis(StrEnum):
    CHILD_AT_RISK = "child-at-risk"
    IMMINENT_DANGER_TO_LIFE = "imminent-danger-to-life"
    COURT_ORDER = "court-order"
    STATUTORY_REPORTING_DUTY = "statutory-reporting-duty"


class _DisclosureCompelledFields(EventPayload):
    event_type: ClassVar[str] = "disclosure.compelled"

    referral_id: Identifier
    recipient: AgencyId
    categories: tuple[DataCategory, ...] = Field(
        default=(), description="The data categories the law requires to disclose."
    )
    legal_basis: LegalBasis
    legal_reference: ShortText = uncategorised_text(
        "The provision or order relied on.", _LEGAL_GROUND
    )
    authorising_officer: ShortText = uncategorised_text(
        "Name and role of the officer who authorised the disclosure.", _LEGAL_GROUND
    )
    inform_survivor_by: StorableDatetime = Field(
        description="When the agency that recorded her consent must have informed her."
    )


class DisclosureCompelledV1(_DisclosureCompelledFields):
    """The agency holding a referral's data (its referrer) discloses it to a recipient
    without her consent, as the law requires; the hub delivers, records the override, and
    asks the agency that recorded her consent to inform her."""

    version: ClassVar[int] = 1


class DisclosureCompelledV2(_DisclosureCompelledFields):
    """As v1, and the disclosure may answer a legal order, which then bounds it."""

    version: ClassVar[int] = 2

    order_id: Identifier | None = Field(
        default=None,
        description="The id of the `legal.order-issued` event this disclosure answers: it "
        "then goes to the agency the order names and carries no category the order did not.",
    )
