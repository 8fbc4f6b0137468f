"""A hub given several Kafka bootstrap addresses, as a cluster's operators configure it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.contracts import AgencyKind
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


async def test_hub_starts_and_delivers_with_a_comma_separated_bootstrap_list(
    kafka_bootstrap: str, kafka_engine: str, tmp_path: Path
) -> None:
    """With ``kafka_bootstrap = "a:1,b:2"`` the hub starts, routes and delivers a referral."""
    hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
    # The first address listed refuses connections: a cluster with one node down.
    listed = f"127.0.0.1:1,{kafka_bootstrap}" if "," not in kafka_bootstrap else kafka_bootstrap
    assert "," in listed
    settings = hub_settings(
        tmp_path, [hospital, court], kafka_bootstrap=listed, kafka_engine=kafka_engine
    )
    async with started_hub(settings, [hospital, court]) as hub:
        consent = consent_payload(hospital, [scope(court)])
        assert (await post_event(hub.client, hospital, consent_event(consent))).status_code == 202
        referral = referral_event(hospital, court, consent)
        assert (await post_event(hub.client, hospital, referral)).status_code == 202
        await wait_for_inbox(hub.client, court, lambda event: event["id"] == referral.id)
