"""The events every figure sends: real canonical referrals under granted consents.

Each referral is the contract's own ``referral.requested`` example with a
fresh referral id, so message size and routing work (consent check, redaction
of identity and legal data for the court) match what the hub really carries.
Referrals go from a hospital to a court listening unit, both in pull mode, so
a delivered event is a row in the court's ``inbox`` table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.contracts import CloudEvent, KafkaRecord, default_registry, new_event, to_kafka
from hub.contracts.events import ConsentGrantedV1, ReferralRequestedV1

__all__ = [
    "AGENCIES",
    "INGRESS_PARTITIONS",
    "RECIPIENT",
    "SENDER",
    "SENDER_TOKEN",
    "Workload",
    "token_sha256",
]

#: The hub's default ``ingress_partitions``, used for the raw topic too.
INGRESS_PARTITIONS = 6

SENDER = "chu-ibn-rochd"
RECIPIENT = "tpi-casablanca-listening-unit"
SENDER_TOKEN = "bench-token-chu"

#: (id, kind, token) of the agencies the bench configures.
AGENCIES: tuple[tuple[str, str, str], ...] = (
    (SENDER, "hospital", SENDER_TOKEN),
    (RECIPIENT, "court", "bench-token-tpi"),
    ("dar-al-amane-shelter", "shelter", "bench-token-shelter"),
)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Workload:
    """Consents for ``subjects`` survivors and referrals spread over them."""

    subjects: int = 32

    def consent_ids(self) -> list[tuple[str, str]]:
        return [(f"cns-bench-{n:04d}", f"sub_{n:032x}") for n in range(self.subjects)]

    def consents(self, now: datetime) -> list[CloudEvent]:
        """One ``consent.granted`` per subject, valid around ``now``.

        The contract example's validity window lies in the past of a machine
        clock, which would make routing block; the window is moved to now.
        """
        example = default_registry().get("consent.granted", 1).example
        assert isinstance(example, ConsentGrantedV1)
        events = []
        for consent_id, subject_id in self.consent_ids():
            payload = example.model_copy(
                update={
                    "consent_id": consent_id,
                    "subject_id": subject_id,
                    "valid_from": now - timedelta(hours=1),
                    "valid_until": now + timedelta(days=30),
                }
            )
            events.append(new_event(payload, source=SENDER))
        return events

    def referrals(self, prefix: str, count: int) -> list[CloudEvent]:
        """``count`` referrals with ids ``ref-<prefix>-<n>``, unique per prefix."""
        example = default_registry().get("referral.requested", 1).example
        assert isinstance(example, ReferralRequestedV1)
        consents = self.consent_ids()
        now = datetime.now(UTC)
        events = []
        for n in range(count):
            consent_id, subject_id = consents[n % len(consents)]
            payload = example.model_copy(
                update={
                    "referral_id": f"ref-{prefix}-{n:07d}",
                    "consent_id": consent_id,
                    "subject_id": subject_id,
                }
            )
            events.append(new_event(payload, source=SENDER, consent_id=consent_id, time=now))
        return events

    def records(self, prefix: str, count: int) -> list[KafkaRecord]:
        """The referrals in Kafka binary content mode, keyed by referral id."""
        return [to_kafka(event) for event in self.referrals(prefix, count)]
