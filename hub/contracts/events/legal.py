"""Legal orders: a court or prosecution asks the agency holding a referral's data for it.

The hub only carries the order to the holder and the holder's answer back: it
never discloses on the holder's behalf. The holder answers with its own
``disclosure.compelled`` (v2, citing the order) or with ``legal.order-declined``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from hub.contracts.categories import DataCategory, categorised
from hub.contracts.events._base import (
    AgencyId,
    EventPayload,
    Identifier,
    LongText,
    ShortText,
    StorableDatetime,
)

__all__ = ["DeclineReason", "LegalOrderDeclinedV1", "LegalOrderIssuedV1"]


class LegalOrderIssuedV1(EventPayload):
    """A court or prosecution orders the agency that referred her to disclose its data."""

    event_type: ClassVar[str] = "legal.order-issued"
    version: ClassVar[int] = 1

    referral_id: Identifier
    categories: tuple[DataCategory, ...] = Field(
        min_length=1,
        description="The data categories the order requires; the answer may carry no other.",
    )
    disclose_to: AgencyId | None = Field(
        default=None, description="The agency to disclose to; absent, the issuer itself."
    )
    respond_by: StorableDatetime = Field(description="When the holder must have answered.")
    order_reference: ShortText | None = categorised(
        DataCategory.LEGAL, "The order's own reference: issuing authority, case, date."
    )
    grounds: LongText | None = categorised(DataCategory.LEGAL, "Why the order is made.")


class DeclineReason(StrEnum):
    NOT_HELD = "not-held"
    ORDER_INVALID = "order-invalid"
    PRIVILEGED = "privileged"
    APPEALED = "appealed"


class LegalOrderDeclinedV1(EventPayload):
    """The agency holding the data declines a legal order, and says why; nothing is disclosed."""

    event_type: ClassVar[str] = "legal.order-declined"
    version: ClassVar[int] = 1

    referral_id: Identifier
    order_id: Identifier = Field(description="The id of the `legal.order-issued` event declined.")
    reason: DeclineReason
    explanation: LongText | None = categorised(DataCategory.LEGAL, "The holder's explanation.")
