"""Pathways: a region's sequence of services and the time each hand-off may take."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.contracts import AgencyKind, ServiceCode
from hub.contracts.events import RiskLevel

__all__ = ["PathwayConfig", "PathwayStep"]

StepId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class PathwayStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: StepId
    from_kind: AgencyKind
    to_kind: AgencyKind
    service: ServiceCode
    within_hours: float = Field(gt=0, le=24 * 365)
    when_risk_at_least: RiskLevel | None = Field(
        default=None, description="Only taken when the assessed safety risk is this or higher."
    )


class PathwayConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: StepId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    region: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    steps: tuple[PathwayStep, ...] = Field(min_length=1)

    def step(self, step_id: str) -> PathwayStep | None:
        return next((step for step in self.steps if step.id == step_id), None)
