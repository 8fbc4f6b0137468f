"""Consent events: granted and withdrawn (expiry is a matter of ``valid_until``)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from hub.contracts.agency import AgencyKind
from hub.contracts.categories import DataCategory, categorised
from hub.contracts.events._base import (
    AgencyId,
    EventPayload,
    Identifier,
    Part,
    ShortText,
    StorableDatetime,
)
from hub.contracts.events.referral import SubjectId
from hub.contracts.vocabulary import Purpose

__all__ = [
    "ConsentGrantedV1",
    "ConsentGrantedV2",
    "ConsentScope",
    "ConsentScopeV2",
    "ConsentWithdrawnV1",
    "GrantedBy",
]


class GrantedBy(StrEnum):
    SURVIVOR = "survivor"
    GUARDIAN = "guardian"


class ConsentScope(Part):
    """One recipient (an agency, or every agency of a kind), what for, and which data."""

    recipient_agency: AgencyId | None = None
    recipient_kind: AgencyKind | None = None
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    categories: tuple[DataCategory, ...] = Field(
        default=(), description="Data categories she agrees to share; routing fields always go."
    )

    @model_validator(mode="after")
    def _one_recipient(self) -> ConsentScope:
        if (self.recipient_agency is None) == (self.recipient_kind is None):
            raise ValueError("name exactly one of recipient_agency or recipient_kind")
        return self


class ConsentGrantedV1(EventPayload):
    """A survivor (or guardian) agrees to share data, as recorded by an agency."""

    event_type: ClassVar[str] = "consent.granted"
    version: ClassVar[int] = 1
    subject_field: ClassVar[str] = "consent_id"

    consent_id: Identifier
    subject_id: SubjectId
    recorded_by: AgencyId
    granted_by: GrantedBy
    scope: tuple[ConsentScope, ...] = Field(min_length=1)
    valid_from: StorableDatetime
    valid_until: StorableDatetime | None = None

    @model_validator(mode="after")
    def _valid_period(self) -> ConsentGrantedV1:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class ConsentScopeV2(ConsentScope):
    """As a v1 scope entry, and it may let its recipient refer her onward under this consent."""

    may_refer_onward: bool = Field(
        default=False,
        description="The recipient this entry names may itself refer her, under this consent, "
        "to recipients the consent names. Only the recording agency may otherwise.",
    )


class ConsentGrantedV2(ConsentGrantedV1):
    """As v1, and each scope entry says whether its recipient may refer her onward.

    A subclass of v1 on purpose: whatever reads a v1 grant reads a v2 one.
    """

    version: ClassVar[int] = 2

    scope: tuple[ConsentScopeV2, ...] = Field(min_length=1)


class ConsentWithdrawnV1(EventPayload):
    """She takes her consent back: routing under it stops at once."""

    event_type: ClassVar[str] = "consent.withdrawn"
    version: ClassVar[int] = 1
    subject_field: ClassVar[str] = "consent_id"

    consent_id: Identifier
    subject_id: SubjectId
    recorded_by: AgencyId
    withdrawn_at: StorableDatetime
    reason: ShortText | None = categorised(DataCategory.NARRATIVE, "Why, if she said.")
