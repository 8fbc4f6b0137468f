"""referral.requested v2 and v3: casting keeps the request, the classification goes no lower."""

from __future__ import annotations

from hypothesis import given

from hub.contracts import CloudEvent, default_registry
from hub.contracts.events import ReferralRequestedV2, ReferralRequestedV3
from tests.contracts.strategies import events_of, referral_requested_v2, referral_requested_v3

REGISTRY = default_registry()


@given(events_of(referral_requested_v2()))
def test_v2_up_to_v3_and_back_is_the_identity(event: CloudEvent) -> None:
    """A v2 request cast to v3 reads as a v3 with no classification, and back unchanged."""
    up = REGISTRY.cast(event, 3)
    payload = REGISTRY.parse(up)
    assert isinstance(payload, ReferralRequestedV3)
    assert payload.incident is None
    assert REGISTRY.cast(up, 2) == event


@given(events_of(referral_requested_v3()))
def test_v3_down_to_v2_drops_only_the_classification(event: CloudEvent) -> None:
    """A v3 request read as v2 keeps every v2 field and loses only ``incident``."""
    down = REGISTRY.cast(event, 2)
    payload = REGISTRY.parse(down)
    assert type(payload) is ReferralRequestedV2
    assert "incident" not in down.data
    original = REGISTRY.parse(event)
    assert payload.model_dump() == original.model_dump(exclude={"incident"})


@given(events_of(referral_requested_v3()))
def test_v3_down_to_v1_and_up_again_is_valid(event: CloudEvent) -> None:
    """A v3 request survives the chain to v1 and back to v3 as a valid request."""
    up = REGISTRY.cast(REGISTRY.cast(event, 1), 3)
    payload = REGISTRY.parse(up)
    assert isinstance(payload, ReferralRequestedV3)
    assert payload.referral_id == REGISTRY.parse(event).referral_id
