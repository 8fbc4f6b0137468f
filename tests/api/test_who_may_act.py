"""Who may act on a referral, over a running hub: refusals at intake, compelled copies delivered.

One hub serves the module; every test draws its own referral and consent ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from hub.consumers.routing import notice_id
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, new_event
from hub.contracts.events import DisclosureCompelledV1, LegalBasis
from hub.contracts.status import ReferralStatus
from hub.store import audit as audit_store
from hub.store import inbox as inbox_store
from tests.api.test_events_api import problem
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
    status_event,
    uid,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@dataclass(frozen=True)
class Net:
    hub: HubUnderTest
    hospital: Agency
    court: Agency
    police: Agency


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def net(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Net]:
    hospital, court, police = (
        agency(AgencyKind.HOSPITAL),
        agency(AgencyKind.COURT),
        agency(AgencyKind.POLICE),
    )
    agencies = [hospital, court, police]
    directory: Path = tmp_path_factory.mktemp("who-may-act")
    settings = hub_settings(directory, agencies, kafka_bootstrap=kafka_bootstrap)
    async with started_hub(settings, agencies) as hub:
        yield Net(hub, hospital, court, police)


async def referred(net: Net) -> CloudEvent:
    """A referral from the hospital to the court, which she lets the court read contact only."""
    consent = consent_payload(
        net.hospital, [scope(net.court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))]
    )
    assert (await post_event(net.hub.client, net.hospital, consent_event(consent))).is_success
    referral = referral_event(net.hospital, net.court, consent)
    assert (await post_event(net.hub.client, net.hospital, referral)).status_code == 202
    return referral


def compelled(sender: Agency, referral: CloudEvent, recipient: Agency) -> CloudEvent:
    payload = DisclosureCompelledV1(
        referral_id=referral.subject,
        recipient=recipient.id,
        categories=tuple(DataCategory),
        legal_basis=LegalBasis.IMMINENT_DANGER_TO_LIFE,
        legal_reference="Duty to prevent a danger to life",
        authorising_officer="Officer on duty",
        inform_survivor_by=datetime.now(UTC) + timedelta(hours=48),
    )
    return new_event(payload, source=sender.id)


def refusals(net: Net, event: CloudEvent) -> list[str]:
    """The actors of the audit log's refusal entries for ``event``."""
    with net.hub.store.transaction() as conn:
        return [
            entry.actor
            for entry in audit_store.entries(conn)
            if entry.action == "refused" and entry.event_id == event.id
        ]


async def test_an_agency_that_does_not_hold_the_data_cannot_compel_its_disclosure(
    net: Net,
) -> None:
    """The court, which received the hospital's referral, compelling it to the police: 403."""
    referral = await referred(net)
    await wait_for_inbox(net.hub.client, net.court, lambda e: e["id"] == referral.id)
    order = compelled(net.court, referral, net.police)

    response = await post_event(net.hub.client, net.court, order)

    assert "referrer" in problem(response, 403)["detail"]
    assert refusals(net, order) == [net.court.id]


async def test_the_referrer_cannot_accept_or_complete_its_own_referral(net: Net) -> None:
    """The hospital marking its own referral accepted or completed is refused with 403."""
    referral = await referred(net)
    for status in (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED):
        move = status_event(net.hospital, referral.subject, status)

        response = await post_event(net.hub.client, net.hospital, move)

        assert "receiving agency" in problem(response, 403)["detail"]
        assert refusals(net, move) == [net.hospital.id]


async def test_the_receiving_agency_cannot_cancel_the_referral(net: Net) -> None:
    """Only the referrer withdraws a referral: the court cancelling it gets 403."""
    referral = await referred(net)
    await wait_for_inbox(net.hub.client, net.court, lambda e: e["id"] == referral.id)
    move = status_event(net.court, referral.subject, ReferralStatus.CANCELLED)

    response = await post_event(net.hub.client, net.court, move)

    assert "referrer" in problem(response, 403)["detail"]
    assert refusals(net, move) == [net.court.id]


async def test_a_compelled_copy_reaches_an_agency_that_already_has_the_referral(
    net: Net,
) -> None:
    """The court got the redacted referral; the hospital's compelled copy still arrives, logged."""
    referral = await referred(net)
    await wait_for_inbox(net.hub.client, net.court, lambda e: e["id"] == referral.id)
    order = compelled(net.hospital, referral, net.court)
    copy_id = notice_id(order.id, "disclosed", net.court.id)

    assert (await post_event(net.hub.client, net.hospital, order)).status_code == 202

    (copy,) = await wait_for_inbox(
        net.hub.client, net.court, lambda e: e.get("overrideid") == order.id and e["id"] != order.id
    )
    assert copy["id"] == copy_id
    assert copy["type"] == "referral.requested"
    assert {"contact", "medical", "identity"} <= set(copy["data"])
    with net.hub.store.transaction() as conn:
        held = inbox_store.get(conn, net.court.id, (copy["source"], copy_id))
        delivered = [
            entry
            for entry in audit_store.entries(conn)
            if entry.action == "delivered" and entry.event_id == copy_id
        ]
    assert held is not None
    assert [entry.details["recipient"] for entry in delivered] == [net.court.id]
    assert delivered[0].details["override"] == order.id


async def test_a_stranger_hears_the_same_refusal_whether_or_not_the_referral_exists(
    net: Net,
) -> None:
    """Moving someone else's referral and moving one never requested are the same 403."""
    referral = await referred(net)
    taken = status_event(net.police, referral.subject, ReferralStatus.ACCEPTED)
    invented = status_event(net.police, uid("ref"), ReferralStatus.ACCEPTED)

    on_taken = problem(await post_event(net.hub.client, net.police, taken), 403)
    on_invented = problem(await post_event(net.hub.client, net.police, invented), 403)

    assert on_taken["title"] == on_invented["title"]
    assert on_taken["detail"].replace(taken.subject, "X") == on_invented["detail"].replace(
        invented.subject, "X"
    )
