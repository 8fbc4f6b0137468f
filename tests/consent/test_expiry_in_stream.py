"""A consent that lapses in the middle of a stream covers what came before, nothing after."""

from __future__ import annotations

from datetime import timedelta

from hub.consumers.routing import decide
from hub.contracts import ReferralStatus
from hub.contracts.events import FailureReason
from tests.consumers.test_routing import (
    AGENCIES,
    COURT,
    HUB_ID,
    NOW,
    REGISTRY,
    record,
    referral_to_court,
    state_of,
)
from tests.support import consent_payload, referral_event, status_event


def test_events_before_the_end_are_delivered_and_after_it_blocked() -> None:
    """Routed one by one across valid_until: delivered until the instant, blocked from it on."""
    _, template = referral_to_court()
    ends = NOW + timedelta(minutes=10)
    consent = consent_payload(
        template.recorded_by,
        list(template.scope),
        valid_from=NOW - timedelta(days=1),
        valid_until=ends,
    )
    referral = referral_event(template.recorded_by, COURT.agency_id, consent)
    stream = [
        (NOW, referral),
        (
            ends - timedelta(seconds=1),
            status_event(COURT.agency_id, referral.subject, ReferralStatus.ACCEPTED),
        ),
        (ends, status_event(COURT.agency_id, referral.subject, ReferralStatus.IN_PROGRESS)),
        (
            ends + timedelta(hours=1),
            status_event(COURT.agency_id, referral.subject, ReferralStatus.COMPLETED),
        ),
    ]
    state = None
    outcomes = []
    for at, event in stream:
        decision = decide(
            event,
            REGISTRY.parse(event),
            state,
            record(consent),
            AGENCIES,
            hub_id=HUB_ID,
            cast=REGISTRY.cast,
            now=at,
        )
        state = decision.new_referral or (
            state_of(referral, decision.new_status) if decision.new_status else state
        )
        outcomes.append([blocked.reason for blocked in decision.blocked] or "delivered")

    assert outcomes == [
        "delivered",
        "delivered",
        [FailureReason.CONSENT_EXPIRED],
        [FailureReason.CONSENT_EXPIRED],
    ]
