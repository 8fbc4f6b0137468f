"""The router applies the status table's movers too, for events intake took before it did."""

from __future__ import annotations

import pytest

from hub.contracts.events import FailureReason
from hub.contracts.status import ReferralStatus
from tests.consumers.test_routing import (
    COURT,
    HOSPITAL,
    record,
    referral_to_court,
    route,
    state_of,
)
from tests.support import status_event


@pytest.mark.parametrize(
    ("sender", "status"),
    [
        (HOSPITAL.agency_id, ReferralStatus.ACCEPTED),
        (HOSPITAL.agency_id, ReferralStatus.COMPLETED),
        (COURT.agency_id, ReferralStatus.CANCELLED),
    ],
)
def test_a_move_by_the_wrong_party_changes_nothing(sender: str, status: ReferralStatus) -> None:
    """A referrer accepting or completing, or a receiver cancelling, is refused; no one hears."""
    referral, consent = referral_to_court()
    state = state_of(referral, ReferralStatus.ACCEPTED)

    decision = route(
        status_event(sender, referral.subject, status), referral=state, consent=record(consent)
    )

    assert decision.refusal is not None
    assert decision.refusal[0] is FailureReason.NOT_A_PARTY
    assert decision.new_status is None
    assert decision.deliveries == ()
