"""The whole pipeline on PostgreSQL, the production store (skipped without a DSN)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.audit import verify
from hub.contracts import AgencyKind, DataCategory, Purpose, ReferralStatus
from hub.store import Store
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    status_event,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_a_referral_goes_round_the_loop_on_postgresql(
    kafka_bootstrap: str, kafka_engine: str, tmp_path: Path, postgres_schema_url: str
) -> None:
    """Referral, acceptance and audit work the same on PostgreSQL as on SQLite."""
    hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
    settings = hub_settings(
        tmp_path,
        [hospital, court],
        kafka_bootstrap=kafka_bootstrap,
        kafka_engine=kafka_engine,
        database_url=postgres_schema_url,
    )
    consent = consent_payload(hospital, [scope(court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    referral = referral_event(hospital, court, consent)
    async with started_hub(settings, [hospital, court]) as hub:
        for event in (consent_event(consent), referral):
            assert (await post_event(hub.client, hospital, event)).status_code == 202
        (received,) = await wait_for_inbox(hub.client, court, lambda e: e["id"] == referral.id)
        assert "identity" not in received["data"]
        accepted = status_event(court, referral.subject, ReferralStatus.ACCEPTED)
        assert (await post_event(hub.client, court, accepted)).status_code == 202
        await wait_for_inbox(hub.client, hospital, lambda e: e["id"] == accepted.id)
    with Store.open(postgres_schema_url) as store, store.transaction() as conn:
        report = verify(conn)
    assert report.entries > 0
    assert not report.problems
