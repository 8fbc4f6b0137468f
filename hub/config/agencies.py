"""Agencies as configured: who they are, what they offer, how they receive."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from hub.config.court_files import CourtFilesDelivery
from hub.config.social_db import SocialDbDelivery
from hub.contracts import AgencyKind, ServiceCode, default_registry
from hub.errors import UnknownEventType

__all__ = [
    "AgencyConfig",
    "CourtFilesDelivery",
    "DeliveryConfig",
    "FhirDelivery",
    "PullDelivery",
    "SocialDbDelivery",
    "WebhookDelivery",
]

AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PullDelivery(_Closed):
    """The agency fetches its inbox over ``GET /v1/inbox`` and acknowledges each event."""

    mode: Literal["pull"] = "pull"


class WebhookDelivery(_Closed):
    """The hub POSTs each event to the agency's URL, signed with HMAC-SHA256."""

    mode: Literal["webhook"]
    url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    secret: SecretStr


class FhirDelivery(_Closed):
    """The hub POSTs a transaction Bundle to the agency's FHIR base URL."""

    mode: Literal["fhir"]
    base_url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    fhir_version: Literal["r4", "r5"] = "r4"
    bearer_token: SecretStr | None = None


DeliveryConfig = Annotated[
    PullDelivery | WebhookDelivery | FhirDelivery | SocialDbDelivery | CourtFilesDelivery,
    Field(discriminator="mode"),
]


class AgencyConfig(_Closed):
    id: AgencyId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: AgencyKind
    region: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    services: tuple[ServiceCode, ...] = ()
    token_sha256: Sha256Hex = Field(
        description="SHA-256 (hex) of the agency's bearer token; the token itself is never stored."
    )
    delivery: DeliveryConfig = PullDelivery()
    aliases: tuple[Annotated[str, StringConstraints(min_length=1, max_length=256)], ...] = Field(
        default=(),
        description="Names other systems use for the agency: FHIR references "
        "(Organization/x), identifiers written system|value, court codes.",
    )
    accepts: dict[str, tuple[int, ...]] = Field(
        default_factory=dict,
        description="Contract versions the agency reads, per event type; absent means latest.",
    )

    @field_validator("accepts")
    @classmethod
    def _known_versions(cls, accepts: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        """Only contracts the hub has: routing casts each copy to one of these versions."""
        registry = default_registry()
        for event_type, versions in accepts.items():
            try:
                known = registry.versions(event_type)
            except UnknownEventType:
                raise ValueError(f"unknown event type {event_type!r}") from None
            unknown = sorted(set(versions) - set(known))
            if unknown:
                raise ValueError(f"{event_type} has no version {unknown}; it has {known}")
        return accepts
