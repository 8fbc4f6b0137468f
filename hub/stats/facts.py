"""What is known of one counted referral: codes and times, never a name or free text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["UNKNOWN", "ReferralFacts"]

#: The value of a dimension a referral does not state (no classification, no step).
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReferralFacts:
    """One referral whose consent allows statistics, as the aggregates see it."""

    region: str
    pathway: str
    step: str
    service: str
    #: The primary form of violence, ``/online`` appended when technology served it.
    violence: str
    age_band: str
    requested_at: datetime
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    due_by: datetime | None = None
    outcomes: tuple[str, ...] = ()

    def dimension(self, name: str) -> str:
        return str(getattr(self, name.replace("-", "_")))
