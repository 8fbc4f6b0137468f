"""Agency kinds: consents may name a recipient by agency id or by kind."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AgencyKind"]


class AgencyKind(StrEnum):
    HOSPITAL = "hospital"
    COURT = "court"
    PROSECUTION = "prosecution"
    POLICE = "police"
    SOCIAL_SERVICES = "social-services"
    SHELTER = "shelter"
    NGO = "ngo"
    PSYCHOSOCIAL = "psychosocial"
    #: A statistics partner: receives no referrals, reads only aggregates.
    OBSERVER = "observer"
