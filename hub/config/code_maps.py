"""Code maps: an external system's codes for the hub's services, outcomes and statuses.

Like a FHIR ConceptMap, each entry maps one ``system|code`` to one hub code, so
a registry, an EHR or a case database can keep its own vocabulary.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from hub.contracts import ReferralStatus, ServiceCode
from hub.contracts.events.referral import OutcomeCode

__all__ = ["CodeMapEntry", "MappedKind"]

MappedKind = Literal["service", "outcome", "status"]
_Text = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"\S")]


class CodeMapEntry(BaseModel):
    """``system|code`` means one hub service, outcome or status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: _Text
    code: _Text
    service: ServiceCode | None = None
    outcome: OutcomeCode | None = None
    status: ReferralStatus | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CodeMapEntry:
        targets = [t for t in (self.service, self.outcome, self.status) if t is not None]
        if len(targets) != 1:
            raise ValueError("a code map entry names exactly one of service, outcome or status")
        return self

    @property
    def kind(self) -> MappedKind:
        if self.service is not None:
            return "service"
        return "outcome" if self.outcome is not None else "status"

    @property
    def target(self) -> str:
        value = self.service or self.outcome or self.status
        assert value is not None
        return value.value
