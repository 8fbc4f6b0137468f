"""One valid, realistic example per contract, shown in the docs and used in tests.

Every value is invented; none describes a real person.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.contracts.agency import AgencyKind
from hub.contracts.categories import DataCategory
from hub.contracts.events import (
    AgeBand,
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentScope,
    ConsentScopeV2,
    ConsentWithdrawnV1,
    ContactPreferences,
    DeclineReason,
    DeliveryFailedV1,
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    EventPayload,
    EvidenceKind,
    EvidenceReference,
    FailureReason,
    FirstContact,
    GrantedBy,
    IdentityAttributes,
    IncidentClassification,
    LegalBasis,
    LegalInformation,
    LegalOrderDeclinedV1,
    LegalOrderIssuedV1,
    MedicalSummary,
    OutcomeCode,
    OutcomeDomain,
    OverdueLimit,
    Perpetrator,
    Priority,
    ProtectionOrderStatus,
    ReferralOutcomeReportedV1,
    ReferralOverdueV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
    RiskLevel,
    SafeChannel,
    SafetyRisk,
    TechnologyFacilitation,
    ViolenceType,
)
from hub.contracts.status import ReferralStatus
from hub.contracts.vocabulary import Purpose, ServiceCode

__all__ = ["EXAMPLES"]

_AT = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
_SUBJECT = "sub_7f3a9c0e5b2d4e6f8a1b3c5d7e9f0a2b"
_REFERRAL = "ref-2026-000142"
_CONSENT = "cns-2026-000087"

_REQUESTED_FIELDS: dict[str, object] = {
    "referral_id": _REFERRAL,
    "from_agency": "chu-ibn-rochd",
    "to_agency": "tpi-casablanca-listening-unit",
    "subject_id": _SUBJECT,
    "service": ServiceCode.COURT_LISTENING_UNIT,
    "priority": Priority.URGENT,
    "consent_id": _CONSENT,
    "due_by": datetime(2026, 3, 17, 9, 30, tzinfo=UTC),
    "pathway_step": "hospital-to-court",
    "reason": "Injuries from intimate partner violence; wishes to file a complaint.",
    "narrative": "Seen at the emergency unit after an assault at home the previous night.",
    "safety_risk": SafetyRisk(level=RiskLevel.HIGH, notes="Partner has threatened to return."),
    "contact": ContactPreferences(
        do_not_contact=False,
        safe_channel=SafeChannel.THROUGH_REFERRING_AGENCY,
        safe_times="Weekdays 10:00-12:00",
        instructions="Never leave a voicemail.",
    ),
    "identity": IdentityAttributes(
        given_name="Salma", family_name="B.", birth_date=date(1994, 5, 2)
    ),
    "medical": MedicalSummary(
        summary="Contusions to the face and forearms; no fracture.",
        injuries=("facial contusion", "forearm contusions"),
        forensic_certificate_issued=True,
        incapacity_days=21,
    ),
    "legal": LegalInformation(complaint_filed=False, protection_order=ProtectionOrderStatus.NONE),
    "evidence": (
        EvidenceReference(
            evidence_id="ev-001",
            kind=EvidenceKind.MEDICAL_CERTIFICATE,
            location="his://chu-ibn-rochd/documents/cert-88412",
            sha256="9f2c1e4b7a3d5f6e8c0b2a4d6f8e0c2b4a6d8f0e2c4b6a8d0f2e4c6b8a0d2f4e",
        ),
        EvidenceReference(
            evidence_id="ev-002",
            kind=EvidenceKind.SCREENSHOT,
            location="vault://chu-ibn-rochd/evidence/ev-002.png",
            sha256="1b3d5f7a9c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c",
            online_platform="messaging application",
            description="Threatening messages received after she left home.",
        ),
    ),
}

EXAMPLES: dict[tuple[str, int], EventPayload] = {
    ("referral.requested", 1): ReferralRequestedV1.model_validate(_REQUESTED_FIELDS),
    ("referral.requested", 2): ReferralRequestedV2.model_validate(
        {**_REQUESTED_FIELDS, "additional_services": (ServiceCode.LEGAL_AID,)}
    ),
    ("referral.requested", 3): ReferralRequestedV3.model_validate(
        {
            **_REQUESTED_FIELDS,
            "additional_services": (ServiceCode.LEGAL_AID,),
            "incident": IncidentClassification(
                violence=(ViolenceType.PHYSICAL_ASSAULT, ViolenceType.PSYCHOLOGICAL_ABUSE),
                technology_facilitated=(TechnologyFacilitation.THREATS,),
                perpetrator=Perpetrator.INTIMATE_PARTNER,
                age_band=AgeBand.ADULT,
                first_contact=FirstContact.HOSPITAL,
            ),
        }
    ),
    ("referral.status-changed", 1): ReferralStatusChangedV1(
        referral_id=_REFERRAL,
        status=ReferralStatus.ACCEPTED,
        business_status="appointment-booked",
        note="Appointment with the listening unit on 16 March at 10:00.",
    ),
    ("referral.outcome-reported", 1): ReferralOutcomeReportedV1(
        referral_id=_REFERRAL,
        domain=OutcomeDomain.JUSTICE,
        outcome=OutcomeCode.PROTECTION_ORDER_GRANTED,
        occurred_at=datetime(2026, 3, 20, 15, 0, tzinfo=UTC),
        next_step_at=datetime(2026, 4, 9, 9, 0, tzinfo=UTC),
        case_number="TPI-CASA-2026-1187",
    ),
    ("consent.granted", 1): ConsentGrantedV1(
        consent_id=_CONSENT,
        subject_id=_SUBJECT,
        recorded_by="chu-ibn-rochd",
        granted_by=GrantedBy.SURVIVOR,
        scope=(
            ConsentScope(
                recipient_agency="tpi-casablanca-listening-unit",
                purposes=(Purpose.JUSTICE,),
                categories=(
                    DataCategory.CONTACT,
                    DataCategory.NARRATIVE,
                    DataCategory.SAFETY_RISK,
                    DataCategory.MEDICAL,
                    DataCategory.EVIDENCE,
                ),
            ),
            ConsentScope(
                recipient_kind=AgencyKind.SHELTER,
                purposes=(Purpose.PROTECTION,),
                categories=(DataCategory.CONTACT, DataCategory.SAFETY_RISK),
            ),
        ),
        valid_from=_AT,
        valid_until=datetime(2026, 9, 14, 9, 30, tzinfo=UTC),
    ),
    ("consent.granted", 2): ConsentGrantedV2(
        consent_id=_CONSENT,
        subject_id=_SUBJECT,
        recorded_by="chu-ibn-rochd",
        granted_by=GrantedBy.SURVIVOR,
        scope=(
            ConsentScopeV2(
                recipient_agency="tpi-casablanca-listening-unit",
                purposes=(Purpose.JUSTICE,),
                categories=(
                    DataCategory.CONTACT,
                    DataCategory.NARRATIVE,
                    DataCategory.SAFETY_RISK,
                    DataCategory.MEDICAL,
                    DataCategory.EVIDENCE,
                ),
                # The listening unit may pass her case on to the prosecution.
                may_refer_onward=True,
            ),
            ConsentScopeV2(
                recipient_kind=AgencyKind.PROSECUTION,
                purposes=(Purpose.JUSTICE,),
                categories=(DataCategory.NARRATIVE, DataCategory.LEGAL),
            ),
        ),
        valid_from=_AT,
        valid_until=datetime(2026, 9, 14, 9, 30, tzinfo=UTC),
    ),
    ("consent.withdrawn", 1): ConsentWithdrawnV1(
        consent_id=_CONSENT,
        subject_id=_SUBJECT,
        recorded_by="chu-ibn-rochd",
        withdrawn_at=datetime(2026, 3, 21, 11, 0, tzinfo=UTC),
    ),
    ("disclosure.compelled", 1): DisclosureCompelledV1(
        referral_id=_REFERRAL,
        recipient="parquet-casablanca",
        categories=(DataCategory.SAFETY_RISK, DataCategory.LEGAL),
        legal_basis=LegalBasis.CHILD_AT_RISK,
        legal_reference="Child protection reporting duty (penal code)",
        authorising_officer="Head of the emergency unit, on duty",
        inform_survivor_by=datetime(2026, 3, 16, 9, 30, tzinfo=UTC),
    ),
    ("disclosure.compelled", 2): DisclosureCompelledV2(
        referral_id=_REFERRAL,
        recipient="tpi-casablanca-listening-unit",
        categories=(DataCategory.CONTACT,),
        legal_basis=LegalBasis.COURT_ORDER,
        legal_reference="Order 2026/118 of the court of first instance",
        authorising_officer="Head of the emergency unit, on duty",
        inform_survivor_by=datetime(2026, 3, 18, 9, 30, tzinfo=UTC),
        order_id="0b6f3c1e-2d4a-4f8e-9c7b-5a1d2e3f4a5b",
    ),
    ("legal.order-issued", 1): LegalOrderIssuedV1(
        referral_id=_REFERRAL,
        categories=(DataCategory.CONTACT,),
        respond_by=datetime(2026, 3, 18, 9, 30, tzinfo=UTC),
        order_reference="Order 2026/118 of the court of first instance",
        grounds="The court must summon her as a witness.",
    ),
    ("legal.order-declined", 1): LegalOrderDeclinedV1(
        referral_id=_REFERRAL,
        order_id="0b6f3c1e-2d4a-4f8e-9c7b-5a1d2e3f4a5b",
        reason=DeclineReason.APPEALED,
        explanation="The order is under appeal.",
    ),
    ("delivery.failed", 1): DeliveryFailedV1(
        referral_id=_REFERRAL,
        failed_event_id="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        failed_event_type="referral.requested",
        recipient="dar-al-amane-shelter",
        reason=FailureReason.CONSENT_SCOPE,
        detail="no active consent covers dar-al-amane-shelter for protection",
        failed_at=_AT,
    ),
    ("referral.overdue", 1): ReferralOverdueV1(
        referral_id=_REFERRAL,
        from_agency="chu-ibn-rochd",
        to_agency="dar-al-amane-shelter",
        limit=OverdueLimit.STEP,
        pathway_step="hospital-to-shelter",
        deadline=_AT,
        detected_at=_AT,
    ),
}
