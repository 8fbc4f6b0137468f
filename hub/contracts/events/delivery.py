"""Delivery events: the hub tells a sender that an event did not reach a recipient."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from hub.contracts.categories import NOT_BLANK_PATTERN, TextKind, uncategorised_text
from hub.contracts.events._base import (
    AgencyId,
    EventPayload,
    Identifier,
    ShortText,
    StorableDatetime,
)

__all__ = ["DeliveryFailedV1", "FailureReason"]

#: The failed event's CloudEvents ``type``: a name, not prose (same schema as ShortText).
EventTypeName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK_PATTERN),
    TextKind.IDENTIFIER,
]


class FailureReason(StrEnum):
    CONSENT_MISSING = "consent-missing"
    CONSENT_WITHDRAWN = "consent-withdrawn"
    CONSENT_EXPIRED = "consent-expired"
    CONSENT_SCOPE = "consent-scope"
    ILLEGAL_TRANSITION = "illegal-transition"
    UNKNOWN_REFERRAL = "unknown-referral"
    UNKNOWN_AGENCY = "unknown-agency"
    NOT_A_PARTY = "not-a-party"
    INVALID_EVENT = "invalid-event"
    RETRIES_EXHAUSTED = "retries-exhausted"


class DeliveryFailedV1(EventPayload):
    """An event was not delivered to a recipient, and why."""

    event_type: ClassVar[str] = "delivery.failed"
    version: ClassVar[int] = 1

    referral_id: Identifier
    failed_event_id: Identifier
    failed_event_type: EventTypeName
    recipient: AgencyId | None = None
    reason: FailureReason
    detail: ShortText = uncategorised_text(
        "What went wrong, in the hub's words.", "written by the hub, never about her"
    )
    attempts: int = Field(default=0, ge=0)
    failed_at: StorableDatetime
