"""Ids belong to their source: one agency's ids never take, nor reveal, another's.

A running hub (uvicorn, a real broker, SQLite) with two hospitals that both
refer to one court pulling its inbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose
from hub.contracts.events import ConsentGrantedV1
from tests.support import (
    Agency,
    HubUnderTest,
    agency,
    consent_event,
    consent_payload,
    eventually,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    uid,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@dataclass(frozen=True)
class Network:
    hub: HubUnderTest
    first: Agency
    second: Agency
    court: Agency

    @property
    def client(self) -> httpx.AsyncClient:
        return self.hub.client


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def net(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Network]:
    first, second = agency(AgencyKind.HOSPITAL), agency(AgencyKind.HOSPITAL)
    court = agency(AgencyKind.COURT)
    agencies = [first, second, court]
    directory: Path = tmp_path_factory.mktemp("ids")
    settings = hub_settings(directory, agencies, kafka_bootstrap=kafka_bootstrap)
    async with started_hub(settings, agencies) as hub:
        yield Network(hub, first, second, court)


async def _consent(net: Network, recorder: Agency, **kwargs: Any) -> ConsentGrantedV1:
    consent = consent_payload(
        recorder, [scope(net.court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))], **kwargs
    )
    answer = await post_event(net.client, recorder, consent_event(consent))
    assert answer.status_code == 202, answer.text
    return consent


def _with_id(event: CloudEvent, event_id: str) -> CloudEvent:
    return CloudEvent.model_validate({**event.structured(), "id": event_id})


async def test_another_agencys_event_id_does_not_take_it(net: Network) -> None:
    """An agency sending first the id another will use leaves that agency's event accepted."""
    taken = uid("evt")
    theirs = _with_id(referral_event(net.second, net.court, await _consent(net, net.second)), taken)
    ours = _with_id(referral_event(net.first, net.court, await _consent(net, net.first)), taken)

    assert (await post_event(net.client, net.second, theirs)).status_code == 202
    answer = await post_event(net.client, net.first, ours)

    assert answer.status_code == 202, answer.text
    assert answer.json()["id"] == taken
    received = await wait_for_inbox(net.client, net.court, lambda e: e["id"] == taken, count=2)
    assert sorted(e["source"] for e in received) == sorted([net.first.id, net.second.id])
    assert {e["subject"] for e in received} == {ours.subject, theirs.subject}

    # The court acknowledges each by naming its source; the id alone is ambiguous.
    ambiguous = await net.client.post(f"/v1/inbox/{taken}/ack", headers=net.court.auth)
    assert ambiguous.status_code == 409, ambiguous.text
    for sender in (net.first, net.second):
        acked = await net.client.post(
            f"/v1/inbox/{taken}/ack", params={"source": sender.id}, headers=net.court.auth
        )
        assert acked.status_code == 200, acked.text

    # Each sender's retry is still its own: same content the same answer, other content 409.
    again = await post_event(net.client, net.first, ours)
    assert (again.status_code, again.json()) == (202, answer.json())
    changed = _with_id(referral_event(net.first, net.court, await _consent(net, net.first)), taken)
    assert (await post_event(net.client, net.first, changed)).status_code == 409


@pytest.mark.parametrize("kind", ["referral", "consent"])
async def test_an_id_in_another_agencys_namespace_is_neither_taken_nor_probed(
    net: Network, kind: str
) -> None:
    """Another agency's ``<agency>:`` id is refused alike whether it exists or not."""
    used = f"{net.first.id}:{uid(kind)}"
    unused = f"{net.first.id}:{uid(kind)}"
    if kind == "referral":
        consent = await _consent(net, net.first)
        ours = referral_event(net.first, net.court, consent, referral_id=used)
        assert (await post_event(net.client, net.first, ours)).status_code == 202
        mine = await _consent(net, net.second)

        def squat(identifier: str) -> CloudEvent:
            return referral_event(net.second, net.court, mine, referral_id=identifier)

    else:
        await _consent(net, net.first, consent_id=used)

        def squat(identifier: str) -> CloudEvent:
            consent = consent_payload(net.second, [scope(net.court)], consent_id=identifier)
            return consent_event(consent)

    on_used = await post_event(net.client, net.second, squat(used))
    on_unused = await post_event(net.client, net.second, squat(unused))

    assert on_used.status_code == on_unused.status_code == 403
    assert on_used.json()["title"] == on_unused.json()["title"]
    assert on_used.json()["detail"] == on_unused.json()["detail"]
    if kind == "referral":
        seen = await eventually(
            lambda: net.client.get(f"/v1/referrals/{used}", headers=net.first.auth),
            lambda r: r.status_code == 200,
        )
        assert seen.json()["from_agency"] == net.first.id
        assert seen.json()["status"] == "requested"
        probe = await net.client.get(f"/v1/referrals/{used}", headers=net.second.auth)
        absent = await net.client.get(f"/v1/referrals/{unused}", headers=net.second.auth)
        assert probe.status_code == absent.status_code == 404
        assert probe.json()["title"] == absent.json()["title"]
    else:
        mine = await net.client.get(f"/v1/consents/{used}", headers=net.first.auth)
        assert mine.json()["recorded_by"] == net.first.id
    # Its own namespace stays open to the second agency.
    own = squat(f"{net.second.id}:{uid(kind)}")
    assert (await post_event(net.client, net.second, own)).status_code == 202
