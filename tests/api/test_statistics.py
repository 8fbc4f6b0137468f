"""Statistics for observers: only consented referrals counted, small cells hidden, audited.

One running hub (real uvicorn server, broker and SQLite store) for the module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from hub.audit import AuditAction
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose
from hub.contracts.events import ConsentGrantedV1, FailureReason, IncidentClassification
from hub.contracts.events.referral import TechnologyFacilitation, ViolenceType
from hub.store import audit as audit_store
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

PERIOD = {"from": "2000-01-01", "to": "2100-01-01"}


@dataclass(frozen=True)
class Network:
    hub: HubUnderTest
    hospital: Agency
    court: Agency
    observer: Agency

    @property
    def client(self) -> httpx.AsyncClient:
        return self.hub.client

    async def refer(self, consent: ConsentGrantedV1, incident: IncidentClassification) -> None:
        """The hospital refers her to the court under ``consent``; wait until it arrives."""
        response = await post_event(self.client, self.hospital, consent_event(consent))
        assert response.status_code == 202, response.text
        event = referral_event(self.hospital, self.court, consent, version=3, incident=incident)
        response = await post_event(self.client, self.hospital, event)
        assert response.status_code == 202, response.text
        await wait_for_inbox(self.client, self.court, lambda e: e["id"] == event.id)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def network(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Network]:
    hospital = agency(AgencyKind.HOSPITAL)
    court = agency(AgencyKind.COURT)
    observer = agency(AgencyKind.OBSERVER)
    agencies = [hospital, court, observer]
    directory: Path = tmp_path_factory.mktemp("statistics")
    settings = hub_settings(
        directory, agencies, kafka_bootstrap=kafka_bootstrap, statistics_threshold=2
    )
    async with started_hub(settings, agencies) as hub:
        yield Network(hub, hospital, court, observer)


def _consent(network: Network, *, statistics: bool) -> ConsentGrantedV1:
    scopes = [scope(network.court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))]
    if statistics:
        scopes.append(scope(AgencyKind.OBSERVER, (Purpose.STATISTICS,), (DataCategory.INCIDENT,)))
    return consent_payload(network.hospital, scopes)


_ONLINE = IncidentClassification(
    violence=(ViolenceType.PSYCHOLOGICAL_ABUSE,),
    technology_facilitated=(TechnologyFacilitation.IMAGE_BASED_ABUSE,),
)


async def test_only_referrals_whose_consent_allows_statistics_are_counted(
    network: Network,
) -> None:
    """Two referrals under a statistics consent and one without: the observer counts two."""
    for allowed in (True, True, False):
        await network.refer(_consent(network, statistics=allowed), _ONLINE)

    response = await network.client.get(
        "/v1/stats", params={**PERIOD, "by": "violence"}, headers=network.observer.auth
    )
    assert response.status_code == 200, response.text
    rows = response.json()["referrals"]
    assert {"violence": "psychological-abuse/online", "referrals": 2} in rows
    assert {"violence": "total", "referrals": 2} in rows

    with network.hub.store.transaction() as conn:
        entries = [
            e for e in audit_store.entries(conn) if e.action == AuditAction.STATISTICS_EXPORTED
        ]
    assert [(e.actor, e.details["dimensions"]) for e in entries] == [
        (network.observer.id, ["violence"])
    ]
    assert entries[0].details["from"] == "2000-01-01"


async def test_an_observer_is_refused_everywhere_but_statistics(network: Network) -> None:
    """An observer's token gets 403 on the inbox, referrals, consents, events and FHIR."""
    headers = network.observer.auth
    for method, path in (
        ("GET", "/v1/inbox"),
        ("GET", "/v1/referrals/ref-1"),
        ("GET", "/v1/consents/cns-1"),
        ("POST", "/v1/events"),
        ("GET", "/fhir/r4/Task"),
    ):
        response = await network.client.request(method, path, headers=headers)
        assert response.status_code == 403, (path, response.text)


async def test_only_an_observer_reads_statistics(network: Network) -> None:
    """A hospital asking for statistics gets 403; a bad dimension is a 400 problem."""
    response = await network.client.get(
        "/v1/stats", params={**PERIOD, "by": "region"}, headers=network.hospital.auth
    )
    assert response.status_code == 403, response.text
    response = await network.client.get(
        "/v1/stats", params={**PERIOD, "by": "religion"}, headers=network.observer.auth
    )
    assert response.status_code == 400, response.text
    assert "--by takes one or more of" in response.json()["detail"]


async def test_no_referral_is_routed_to_an_observer(network: Network) -> None:
    """A referral addressed to an observer is refused and the referrer hears why."""
    consent = _consent(network, statistics=True)
    response = await post_event(network.client, network.hospital, consent_event(consent))
    assert response.status_code == 202
    event: CloudEvent = referral_event(network.hospital, network.observer, consent)
    response = await post_event(network.client, network.hospital, event)
    assert response.status_code == 202, response.text
    await wait_for_inbox(
        network.client,
        network.hospital,
        lambda e: (
            e["type"] == "delivery.failed"
            and e["data"]["failed_event_id"] == event.id
            and e["data"]["reason"] == FailureReason.INVALID_EVENT.value
        ),
    )
