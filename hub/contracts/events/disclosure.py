"""Compelled disclosure: the law requires a disclosure her consent does not cover."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from hub.contracts.categories import DataCategory
from hub.contracts.events._base import (
    AgencyId,
    EventPayload,
    Identifier,
    ShortText,
    StorableDatetime,
)

__all__ = ["DisclosureCompelledV1", "LegalBasis"]


class LegalBasis(StrEnum):
    CHILD_AT_RISK = "child-at-risk"
    IMMINENT_DANGER_TO_LIFE = "imminent-danger-to-life"
    COURT_ORDER = "court-order"
    STATUTORY_REPORTING_DUTY = "statutory-reporting-duty"


class DisclosureCompelledV1(EventPayload):
    """A party to a referral discloses it to a recipient without her consent, as the law
    requires; the hub delivers, records the override, and asks the agency that recorded
    her consent to inform her."""

    event_type: ClassVar[str] = "disclosure.compelled"
    version: ClassVar[int] = 1

    referral_id: Identifier
    recipient: AgencyId
    categories: tuple[DataCategory, ...] = Field(
        default=(), description="The data categories the law requires to disclose."
    )
    legal_basis: LegalBasis
    legal_reference: ShortText = Field(description="The provision or order relied on.")
    authorising_officer: ShortText = Field(
        description="Name and role of the officer who authorised the disclosure."
    )
    inform_survivor_by: StorableDatetime = Field(
        description="When the agency that recorded her consent must have informed her."
    )
