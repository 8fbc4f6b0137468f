"""Time limits: the hub tells both ends of a referral that a limit has passed."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from hub.contracts.events._base import AgencyId, EventPayload, Identifier, StorableDatetime

__all__ = ["OverdueLimit", "ReferralOverdueV1"]


class OverdueLimit(StrEnum):
    #: The pathway step's ``within_hours`` passed before the receiving agency answered.
    STEP = "step"
    #: The referral's ``due_by`` passed before it was closed.
    DUE_BY = "due-by"


class ReferralOverdueV1(EventPayload):
    """A referral's time limit passed: sent once per limit to the referrer and the receiver."""

    event_type: ClassVar[str] = "referral.overdue"
    version: ClassVar[int] = 1

    referral_id: Identifier
    from_agency: AgencyId
    to_agency: AgencyId
    limit: OverdueLimit
    pathway_step: Identifier | None = None
    deadline: StorableDatetime
    detected_at: StorableDatetime
