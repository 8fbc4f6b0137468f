"""Canonical event payloads, one model per type and version."""

from hub.contracts.events._base import EventPayload
from hub.contracts.events.consent import (
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentScope,
    ConsentScopeV2,
    ConsentWithdrawnV1,
    GrantedBy,
)
from hub.contracts.events.delivery import DeliveryFailedV1, FailureReason
from hub.contracts.events.disclosure import (
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    LegalBasis,
)
from hub.contracts.events.legal import DeclineReason, LegalOrderDeclinedV1, LegalOrderIssuedV1
from hub.contracts.events.overdue import OverdueLimit, ReferralOverdueV1
from hub.contracts.events.referral import (
    ContactPreferences,
    EvidenceKind,
    EvidenceReference,
    IdentityAttributes,
    LegalInformation,
    MedicalSummary,
    OutcomeCode,
    OutcomeDomain,
    Priority,
    ProtectionOrderStatus,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
    RiskLevel,
    SafeChannel,
    SafetyRisk,
)

__all__ = [
    "ConsentGrantedV1",
    "ConsentGrantedV2",
    "ConsentScope",
    "ConsentScopeV2",
    "ConsentWithdrawnV1",
    "ContactPreferences",
    "DeclineReason",
    "DeliveryFailedV1",
    "DisclosureCompelledV1",
    "DisclosureCompelledV2",
    "EventPayload",
    "EvidenceKind",
    "EvidenceReference",
    "FailureReason",
    "GrantedBy",
    "IdentityAttributes",
    "LegalBasis",
    "LegalInformation",
    "LegalOrderDeclinedV1",
    "LegalOrderIssuedV1",
    "MedicalSummary",
    "OutcomeCode",
    "OutcomeDomain",
    "OverdueLimit",
    "Priority",
    "ProtectionOrderStatus",
    "ReferralOutcomeReportedV1",
    "ReferralOverdueV1",
    "ReferralRequestedV1",
    "ReferralRequestedV2",
    "ReferralStatusChangedV1",
    "RiskLevel",
    "SafeChannel",
    "SafetyRisk",
]
