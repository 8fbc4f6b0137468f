"""Consents and referrals of a run, and the recipient each referral must reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chaos.network import COURT, REFUSER, SENDER, SHELTER
from hub.contracts import AgencyKind, CloudEvent, default_registry, new_event
from hub.contracts.categories import DataCategory
from hub.contracts.events import ConsentGrantedV1, ConsentScope, ReferralRequestedV1
from hub.contracts.vocabulary import Purpose, ServiceCode

__all__ = ["Referral", "Workload"]

#: Where referral number n goes: half to the court, most others to the shelter, one in ten
#: to the recipient that refuses everything.
_ROUTES = (
    (COURT, ServiceCode.COURT_LISTENING_UNIT, "justice-step"),
    (SHELTER, ServiceCode.EMERGENCY_SHELTER, "shelter-step"),
)


@dataclass(frozen=True)
class Referral:
    event: CloudEvent
    recipient: str


@dataclass(frozen=True)
class Workload:
    run_id: str
    subjects: int = 16

    def _subject(self, n: int) -> tuple[str, str]:
        return f"cns-{self.run_id}-{n:04d}", f"sub_{self.run_id}{n:04x}".ljust(36, "0")[:36]

    def consents(self) -> list[CloudEvent]:
        example = default_registry().get("consent.granted", 1).example
        assert isinstance(example, ConsentGrantedV1)
        now = datetime.now(UTC)
        scope = (
            ConsentScope(
                recipient_agency=COURT,
                purposes=(Purpose.JUSTICE,),
                categories=(DataCategory.CONTACT,),
            ),
            ConsentScope(
                recipient_kind=AgencyKind.SHELTER,
                purposes=(Purpose.PROTECTION,),
                categories=(DataCategory.CONTACT, DataCategory.SAFETY_RISK),
            ),
            ConsentScope(
                recipient_kind=AgencyKind.PSYCHOSOCIAL,
                purposes=(Purpose.CARE,),
                categories=(DataCategory.CONTACT,),
            ),
        )
        events = []
        for n in range(self.subjects):
            consent_id, subject_id = self._subject(n)
            payload = example.model_copy(
                update={
                    "consent_id": consent_id,
                    "subject_id": subject_id,
                    "recorded_by": SENDER,
                    "scope": scope,
                    "valid_from": now - timedelta(hours=1),
                    "valid_until": now + timedelta(days=30),
                }
            )
            events.append(new_event(payload, source=SENDER))
        return events

    def referral(self, n: int) -> Referral:
        example = default_registry().get("referral.requested", 1).example
        assert isinstance(example, ReferralRequestedV1)
        if n % 10 == 9:
            recipient, service, step = REFUSER, ServiceCode.PSYCHOSOCIAL_SUPPORT, "care-step"
        else:
            recipient, service, step = _ROUTES[n % 2]
        consent_id, subject_id = self._subject(n % self.subjects)
        payload = example.model_copy(
            update={
                "referral_id": f"ref-{self.run_id}-{n:06d}",
                "to_agency": recipient,
                "service": service,
                "pathway_step": step,
                "consent_id": consent_id,
                "subject_id": subject_id,
            }
        )
        return Referral(new_event(payload, source=SENDER, consent_id=consent_id), recipient)
