"""The hub's service vocabulary: what one agency can ask of another.

Codes are the hub's own, stable across agencies; each has a display name in
English and French (the working languages of the first deployments) and, where
one exists, the SNOMED CT concept an agency's clinical system can map to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "SERVICE_SYSTEM",
    "SNOMED_SYSTEM",
    "Purpose",
    "ServiceCode",
    "ServiceDefinition",
    "all_services",
    "service",
]

SERVICE_SYSTEM = "urn:referral-hub:service"
SNOMED_SYSTEM = "http://snomed.info/sct"


class Purpose(StrEnum):
    """Why data is disclosed; a consent names the purposes it covers."""

    CARE = "care"
    PROTECTION = "protection"
    JUSTICE = "justice"
    SOCIAL_SUPPORT = "social-support"
    #: Her de-identified data may be counted in aggregates; never a referral's purpose.
    STATISTICS = "statistics"


class ServiceCode(StrEnum):
    EMERGENCY_MEDICAL_CARE = "emergency-medical-care"
    FORENSIC_EXAMINATION = "forensic-examination"
    MEDICAL_FOLLOW_UP = "medical-follow-up"
    COURT_LISTENING_UNIT = "court-listening-unit"
    PROSECUTION_COMPLAINT = "prosecution-complaint"
    POLICE_PROTECTION = "police-protection"
    LEGAL_AID = "legal-aid"
    EMERGENCY_SHELTER = "emergency-shelter"
    PSYCHOSOCIAL_SUPPORT = "psychosocial-support"
    SOCIAL_ECONOMIC_SUPPORT = "social-economic-support"
    CHILD_PROTECTION = "child-protection"


@dataclass(frozen=True)
class ServiceDefinition:
    code: ServiceCode
    display: str
    display_fr: str
    purpose: Purpose
    snomed: str | None = None
    snomed_display: str | None = None


_DEFINITIONS: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        ServiceCode.EMERGENCY_MEDICAL_CARE,
        "Emergency medical care",
        "Soins médicaux d'urgence",
        Purpose.CARE,
    ),
    ServiceDefinition(
        ServiceCode.FORENSIC_EXAMINATION,
        "Forensic medical examination and certificate",
        "Examen médico-légal et certificat",
        Purpose.JUSTICE,
    ),
    ServiceDefinition(
        ServiceCode.MEDICAL_FOLLOW_UP,
        "Medical follow-up",
        "Suivi médical",
        Purpose.CARE,
        "390906007",
        "Follow-up encounter (procedure)",
    ),
    ServiceDefinition(
        ServiceCode.COURT_LISTENING_UNIT,
        "Court listening unit for women and children",
        "Cellule d'écoute du tribunal",
        Purpose.JUSTICE,
    ),
    ServiceDefinition(
        ServiceCode.PROSECUTION_COMPLAINT,
        "Filing a complaint with the prosecution",
        "Dépôt de plainte auprès du parquet",
        Purpose.JUSTICE,
    ),
    ServiceDefinition(
        ServiceCode.POLICE_PROTECTION,
        "Police protection",
        "Protection policière",
        Purpose.PROTECTION,
    ),
    ServiceDefinition(ServiceCode.LEGAL_AID, "Legal aid", "Aide juridique", Purpose.JUSTICE),
    ServiceDefinition(
        ServiceCode.EMERGENCY_SHELTER,
        "Emergency shelter",
        "Hébergement d'urgence",
        Purpose.PROTECTION,
    ),
    ServiceDefinition(
        ServiceCode.PSYCHOSOCIAL_SUPPORT,
        "Psychosocial support and counselling",
        "Soutien psychosocial",
        Purpose.CARE,
        "409063005",
        "Counseling (procedure)",
    ),
    ServiceDefinition(
        ServiceCode.SOCIAL_ECONOMIC_SUPPORT,
        "Social and economic support",
        "Aide sociale et économique",
        Purpose.SOCIAL_SUPPORT,
        "410606002",
        "Social service procedure (procedure)",
    ),
    ServiceDefinition(
        ServiceCode.CHILD_PROTECTION,
        "Child protection",
        "Protection de l'enfance",
        Purpose.PROTECTION,
    ),
)

_BY_CODE = {definition.code: definition for definition in _DEFINITIONS}


def service(code: ServiceCode) -> ServiceDefinition:
    """The definition (display names, SNOMED CT mapping) of a service code."""
    return _BY_CODE[code]


def all_services() -> tuple[ServiceDefinition, ...]:
    return _DEFINITIONS
