"""Referral events: requested (v1, v2, v3), status-changed, outcome-reported."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from hub.contracts.categories import DataCategory, categorised
from hub.contracts.events._base import (
    AgencyId,
    EventPayload,
    Identifier,
    LongText,
    Part,
    ShortText,
    StorableDatetime,
)
from hub.contracts.status import ReferralStatus
from hub.contracts.vocabulary import ServiceCode

__all__ = [
    "AgeBand",
    "ContactPreferences",
    "EvidenceKind",
    "EvidenceReference",
    "FirstContact",
    "IdentityAttributes",
    "IncidentClassification",
    "LegalInformation",
    "MedicalSummary",
    "OutcomeCode",
    "OutcomeDomain",
    "Perpetrator",
    "Priority",
    "ProtectionOrderStatus",
    "ReferralOutcomeReportedV1",
    "ReferralRequestedV1",
    "ReferralRequestedV2",
    "ReferralRequestedV3",
    "ReferralStatusChangedV1",
    "RiskLevel",
    "SafeChannel",
    "SafetyRisk",
    "SubjectId",
    "TechnologyFacilitation",
    "ViolenceType",
]

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
#: A keyed hash of an agency-local identifier; never a name.
SubjectId = Annotated[str, StringConstraints(pattern=r"^sub_[0-9a-f]{32,64}$")]


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    SEVERE = "severe"


class SafeChannel(StrEnum):
    PHONE_CALL = "phone-call"
    SMS = "sms"
    EMAIL = "email"
    IN_PERSON_AT_AGENCY = "in-person-at-agency"
    THROUGH_REFERRING_AGENCY = "through-referring-agency"


class SafetyRisk(Part):
    level: RiskLevel
    notes: LongText | None = None
    children_at_risk: bool = False


class ContactPreferences(Part):
    """How, and whether, she may be contacted; travels whole or not at all."""

    do_not_contact: bool = False
    safe_channel: SafeChannel | None = None
    safe_times: ShortText | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    instructions: ShortText | None = None


class IdentityAttributes(Part):
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    birth_date: date | None = None
    national_id: Identifier | None = None


class MedicalSummary(Part):
    summary: LongText
    injuries: tuple[ShortText, ...] = ()
    pregnant: bool | None = None
    forensic_certificate_issued: bool = False
    incapacity_days: Annotated[int, Field(ge=0, le=365)] | None = None


class ProtectionOrderStatus(StrEnum):
    NONE = "none"
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"


class LegalInformation(Part):
    case_number: Identifier | None = None
    court: ShortText | None = None
    complaint_filed: bool = False
    protection_order: ProtectionOrderStatus = ProtectionOrderStatus.NONE


class EvidenceKind(StrEnum):
    MEDICAL_CERTIFICATE = "medical-certificate"
    PHOTOGRAPH = "photograph"
    DOCUMENT = "document"
    WITNESS_STATEMENT = "witness-statement"
    SCREENSHOT = "screenshot"
    MESSAGE_EXPORT = "message-export"
    SOCIAL_MEDIA_POST = "social-media-post"
    AUDIO_RECORDING = "audio-recording"
    VIDEO_RECORDING = "video-recording"


class EvidenceReference(Part):
    """Where a piece of evidence is kept and the hash that proves it unaltered.

    Digital evidence of online violence (screenshots, message exports, posts) is
    referenced like any other: the hub carries the reference, never the content.
    """

    evidence_id: Identifier
    kind: EvidenceKind
    location: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    sha256: Sha256
    captured_at: StorableDatetime | None = None
    online_platform: ShortText | None = None
    description: ShortText | None = None


class ViolenceType(StrEnum):
    """The six GBVIMS core incident types."""

    RAPE = "rape"
    SEXUAL_ASSAULT = "sexual-assault"
    PHYSICAL_ASSAULT = "physical-assault"
    FORCED_MARRIAGE = "forced-marriage"
    DENIAL_OF_RESOURCES = "denial-of-resources"
    PSYCHOLOGICAL_ABUSE = "psychological-abuse"


class TechnologyFacilitation(StrEnum):
    """How technology served the violence, when it did."""

    ONLINE_HARASSMENT = "online-harassment"
    THREATS = "threats"
    IMAGE_BASED_ABUSE = "image-based-abuse"


class Perpetrator(StrEnum):
    INTIMATE_PARTNER = "intimate-partner"
    FAMILY_MEMBER = "family-member"
    OTHER = "other"


class AgeBand(StrEnum):
    """Her age at the incident, in bands: never her birth date."""

    CHILD = "0-11"
    ADOLESCENT = "12-17"
    YOUNG_ADULT = "18-24"
    ADULT = "25-39"
    MIDDLE_AGED = "40-59"
    OLDER = "60+"


class FirstContact(StrEnum):
    """Where she first came for help."""

    HOSPITAL = "hospital"
    COURT = "court"
    POLICE = "police"
    NGO = "ngo"
    HOTLINE = "hotline"
    ONLINE = "online"


class IncidentClassification(Part):
    """The incident, classified with the GBVIMS core types and context flags; all coded."""

    violence: tuple[ViolenceType, ...] = Field(
        min_length=1,
        description="The forms of violence, the primary (most severe) one first.",
    )
    technology_facilitated: tuple[TechnologyFacilitation, ...] = Field(
        default=(), description="How technology served it; empty when it did not."
    )
    perpetrator: Perpetrator | None = None
    age_band: AgeBand | None = None
    first_contact: FirstContact | None = None

    @model_validator(mode="after")
    def _no_repeats(self) -> IncidentClassification:
        for name in ("violence", "technology_facilitated"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} names a value twice")
        return self

    @property
    def primary(self) -> ViolenceType:
        return self.violence[0]

    @property
    def online(self) -> bool:
        return bool(self.technology_facilitated)


class _ReferralRequestedFields(EventPayload):
    event_type: ClassVar[str] = "referral.requested"

    referral_id: Identifier
    from_agency: AgencyId
    to_agency: AgencyId
    subject_id: SubjectId
    service: ServiceCode
    priority: Priority
    consent_id: Identifier
    due_by: StorableDatetime | None = None
    pathway_step: Identifier | None = None
    reason: ShortText | None = categorised(
        DataCategory.NARRATIVE, "Why she is referred, in a sentence."
    )
    narrative: LongText | None = categorised(
        DataCategory.NARRATIVE, "Her account, as recorded by the referring agency."
    )
    safety_risk: SafetyRisk | None = categorised(
        DataCategory.SAFETY_RISK, "Assessed risk level and notes."
    )
    contact: ContactPreferences | None = categorised(
        DataCategory.CONTACT, "Contact details with do-not-contact and safe-channel preferences."
    )
    identity: IdentityAttributes | None = categorised(
        DataCategory.IDENTITY, "Identity attributes; absent unless consent covers identity."
    )
    medical: MedicalSummary | None = categorised(DataCategory.MEDICAL, "Medical summary.")
    legal: LegalInformation | None = categorised(
        DataCategory.LEGAL, "Case number, complaint and protection order."
    )
    evidence: tuple[EvidenceReference, ...] | None = categorised(
        DataCategory.EVIDENCE, "References to evidence, each with its content hash."
    )

    @model_validator(mode="after")
    def _not_to_itself(self) -> _ReferralRequestedFields:
        if self.from_agency == self.to_agency:
            raise ValueError("to_agency must differ from from_agency")
        return self


class ReferralRequestedV1(_ReferralRequestedFields):
    """One agency asks another to provide a service to a survivor."""

    version: ClassVar[int] = 1


class ReferralRequestedV2(_ReferralRequestedFields):
    """As v1, and a referral may ask for further services beside the main one."""

    version: ClassVar[int] = 2

    additional_services: tuple[ServiceCode, ...] = Field(
        default=(), description="Further services asked of the same agency, in order."
    )

    @model_validator(mode="after")
    def _no_repeated_service(self) -> ReferralRequestedV2:
        services = (self.service, *self.additional_services)
        if len(set(services)) != len(services):
            raise ValueError("a service may be requested only once per referral")
        return self


class ReferralRequestedV3(ReferralRequestedV2):
    """As v2, and the incident classified, as its own data category.

    A subclass of v2 on purpose: whatever reads a v2 request reads a v3 one.
    """

    version: ClassVar[int] = 3

    incident: IncidentClassification | None = categorised(
        DataCategory.INCIDENT,
        "The incident classified: GBVIMS core types, technology facilitation, perpetrator, "
        "her age band and first point of contact.",
    )


class ReferralStatusChangedV1(EventPayload):
    """The agency handling a referral moves it along; the referrer always hears."""

    event_type: ClassVar[str] = "referral.status-changed"
    version: ClassVar[int] = 1

    referral_id: Identifier
    status: ReferralStatus
    business_status: ShortText | None = categorised(
        DataCategory.NARRATIVE, "The agency's own finer-grained status, e.g. 'waiting-list'."
    )
    status_reason: ShortText | None = categorised(
        DataCategory.NARRATIVE, "Why, as a short phrase (e.g. 'no capacity')."
    )
    note: LongText | None = categorised(DataCategory.NARRATIVE, "Free-text note for the referrer.")


class OutcomeDomain(StrEnum):
    HEALTH = "health"
    SOCIAL = "social"
    JUSTICE = "justice"


class OutcomeCode(StrEnum):
    # health
    TREATED = "treated"
    FORENSIC_CERTIFICATE_ISSUED = "forensic-certificate-issued"
    FOLLOW_UP_SCHEDULED = "follow-up-scheduled"
    # social
    SHELTER_PROVIDED = "shelter-provided"
    FINANCIAL_SUPPORT_GRANTED = "financial-support-granted"
    COUNSELLING_STARTED = "counselling-started"
    COUNSELLING_COMPLETED = "counselling-completed"
    DECLINED_BY_SURVIVOR = "declined-by-survivor"
    # justice: the FHIR referral guides do not model these
    COMPLAINT_FILED = "complaint-filed"
    PROTECTION_ORDER_REQUESTED = "protection-order-requested"
    PROTECTION_ORDER_GRANTED = "protection-order-granted"
    PROTECTION_ORDER_REFUSED = "protection-order-refused"
    CASE_OPENED = "case-opened"
    HEARING_SCHEDULED = "hearing-scheduled"
    CASE_CLOSED = "case-closed"


OUTCOME_DOMAINS: dict[OutcomeCode, OutcomeDomain] = {
    **dict.fromkeys(
        (
            OutcomeCode.TREATED,
            OutcomeCode.FORENSIC_CERTIFICATE_ISSUED,
            OutcomeCode.FOLLOW_UP_SCHEDULED,
        ),
        OutcomeDomain.HEALTH,
    ),
    **dict.fromkeys(
        (
            OutcomeCode.SHELTER_PROVIDED,
            OutcomeCode.FINANCIAL_SUPPORT_GRANTED,
            OutcomeCode.COUNSELLING_STARTED,
            OutcomeCode.COUNSELLING_COMPLETED,
            OutcomeCode.DECLINED_BY_SURVIVOR,
        ),
        OutcomeDomain.SOCIAL,
    ),
    **dict.fromkeys(
        (
            OutcomeCode.COMPLAINT_FILED,
            OutcomeCode.PROTECTION_ORDER_REQUESTED,
            OutcomeCode.PROTECTION_ORDER_GRANTED,
            OutcomeCode.PROTECTION_ORDER_REFUSED,
            OutcomeCode.CASE_OPENED,
            OutcomeCode.HEARING_SCHEDULED,
            OutcomeCode.CASE_CLOSED,
        ),
        OutcomeDomain.JUSTICE,
    ),
}


class ReferralOutcomeReportedV1(EventPayload):
    """What came of a referral: a health, social or justice outcome."""

    event_type: ClassVar[str] = "referral.outcome-reported"
    version: ClassVar[int] = 1

    referral_id: Identifier
    domain: OutcomeDomain
    outcome: OutcomeCode
    occurred_at: StorableDatetime
    next_step_at: StorableDatetime | None = Field(
        default=None, description="When the next step (hearing, follow-up) is scheduled."
    )
    case_number: Identifier | None = categorised(
        DataCategory.LEGAL, "The court or prosecution case number, for justice outcomes."
    )
    clinical_note: LongText | None = categorised(
        DataCategory.MEDICAL, "Clinical detail, for health outcomes."
    )
    note: LongText | None = categorised(DataCategory.NARRATIVE, "Free-text detail.")

    @model_validator(mode="after")
    def _outcome_in_domain(self) -> ReferralOutcomeReportedV1:
        if OUTCOME_DOMAINS[self.outcome] is not self.domain:
            raise ValueError(f"outcome {self.outcome.value!r} is not a {self.domain.value} outcome")
        return self
