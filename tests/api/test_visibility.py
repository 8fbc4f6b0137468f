"""Read paths show an agency only what reached it: a blocked recipient sees nothing at all.

One running hub (real uvicorn server, broker and SQLite store) for the module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, ServiceCode
from hub.contracts.events import ConsentGrantedV1
from tests.support import (
    Agency,
    HubUnderTest,
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

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@dataclass(frozen=True)
class Network:
    hub: HubUnderTest
    hospital: Agency
    court: Agency
    shelter: Agency

    @property
    def client(self) -> httpx.AsyncClient:
        return self.hub.client

    async def send(self, sender: Agency, event: CloudEvent) -> None:
        response = await post_event(self.client, sender, event)
        assert response.status_code == 202, response.text

    async def refused_to(self, referrer: Agency, referral: CloudEvent) -> None:
        """Wait until the referrer hears the hub did not deliver its referral."""
        await wait_for_inbox(
            self.client,
            referrer,
            lambda e: (
                e["type"] == "delivery.failed" and e["data"]["failed_event_id"] == referral.id
            ),
        )

    async def sees_nothing_of(self, reader: Agency, referral: CloudEvent) -> None:
        """Every read path answers the reader as if the referral and its consent did not exist."""
        headers = reader.auth
        referral_id, consent_id = referral.subject, referral.consentid
        read = await self.client.get(f"/v1/referrals/{referral_id}", headers=headers)
        assert read.status_code == 404, read.text
        assert read.json()["detail"] == f"no referral {referral_id} visible to {reader.id}"
        consent = await self.client.get(f"/v1/consents/{consent_id}", headers=headers)
        assert consent.status_code == 404, consent.text
        for version in ("r4", "r5"):
            search = await self.client.get(
                f"/fhir/{version}/Task", params={"owner": reader.id}, headers=headers
            )
            assert search.status_code == 200, search.text
            assert referral_id not in search.text
            assert str(referral.data["subject_id"]) not in search.text
        update = await self.client.put(
            f"/fhir/r4/Task/{referral_id}",
            json=_accepting_task(referral_id),
            headers={**headers, "content-type": "application/fhir+json"},
        )
        assert update.status_code == 404, update.text


def _accepting_task(referral_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": referral_id,
        "identifier": [{"system": "urn:referral-hub:referral", "value": referral_id}],
        "status": "accepted",
        "intent": "order",
    }


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def network(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Network]:
    hospital = agency(AgencyKind.HOSPITAL)
    court = agency(AgencyKind.COURT)
    shelter = agency(AgencyKind.SHELTER)
    agencies = [hospital, court, shelter]
    directory: Path = tmp_path_factory.mktemp("visibility")
    settings = hub_settings(directory, agencies, kafka_bootstrap=kafka_bootstrap)
    async with started_hub(settings, agencies) as hub:
        yield Network(hub, hospital, court, shelter)


def _consent(network: Network, **kwargs: Any) -> ConsentGrantedV1:
    """The hospital records her consent for the court (justice) and the shelter (protection)."""
    return consent_payload(
        network.hospital,
        [
            scope(network.court, (Purpose.JUSTICE,), (DataCategory.CONTACT,)),
            scope(network.shelter, (Purpose.PROTECTION,), (DataCategory.CONTACT,)),
        ],
        **kwargs,
    )


async def test_a_recipient_consent_blocked_from_sees_nothing_of_the_referral(
    network: Network,
) -> None:
    """Her consent had expired: the court gets 404 on the referral and its consent, and no
    Task for it, while the hospital still reads its own referral."""
    now = datetime.now(UTC)
    consent = _consent(
        network, valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1)
    )
    await network.send(network.hospital, consent_event(consent))
    referral = referral_event(network.hospital, network.court, consent)
    await network.send(network.hospital, referral)
    await network.refused_to(network.hospital, referral)

    await network.sees_nothing_of(network.court, referral)
    own = await network.client.get(
        f"/v1/referrals/{referral.subject}", headers=network.hospital.auth
    )
    assert own.status_code == 200


async def test_the_recipient_of_a_blocked_onward_referral_sees_nothing_of_it(
    network: Network,
) -> None:
    """The court refers on a consent it only read: the shelter sees neither referral nor
    consent, although the consent names it."""
    consent = _consent(network)
    await network.send(network.hospital, consent_event(consent))
    first = referral_event(network.hospital, network.court, consent)
    await network.send(network.hospital, first)
    await wait_for_inbox(network.client, network.court, lambda e: e["id"] == first.id)
    onward = referral_event(
        network.court, network.shelter, consent, service=ServiceCode.EMERGENCY_SHELTER
    )
    await network.send(network.court, onward)
    await network.refused_to(network.court, onward)

    await network.sees_nothing_of(network.shelter, onward)


async def test_a_recipient_reads_what_reached_it_and_the_consent_it_came_under(
    network: Network,
) -> None:
    """Once the court received the referral, it reads the referral and its consent."""
    consent = _consent(network)
    await network.send(network.hospital, consent_event(consent))
    path = f"/v1/consents/{consent.consent_id}"
    before = await network.client.get(path, headers=network.court.auth)
    assert before.status_code == 404  # named in it, but nothing reached the court yet
    referral = referral_event(network.hospital, network.court, consent)
    await network.send(network.hospital, referral)
    await wait_for_inbox(network.client, network.court, lambda e: e["id"] == referral.id)

    read = await network.client.get(f"/v1/referrals/{referral.subject}", headers=network.court.auth)
    assert read.status_code == 200
    assert [entry["event_id"] for entry in read.json()["timeline"]] == [referral.id]
    assert (await network.client.get(path, headers=network.court.auth)).status_code == 200
    search = await network.client.get(
        "/fhir/r4/Task", params={"owner": network.court.id}, headers=network.court.auth
    )
    assert referral.subject in search.text
