"""Operators: staff who watch the hub's operations page, holding an operator token.

An operator token opens ``/ops`` and ``/ops/data.json`` only: counts, never
survivor data. It cannot submit events or read referrals, inboxes or consents.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["OperatorConfig", "Sha256Hex"]

OperatorId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class OperatorConfig(BaseModel):
    """One operator: an id for the audit of who looked, and the SHA-256 of their token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: OperatorId
    token_sha256: Sha256Hex
