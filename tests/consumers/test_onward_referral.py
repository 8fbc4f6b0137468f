"""Onward referrals: a consent covers the agency that recorded it, not whoever read its id."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.broker.topics import INGRESS, inbox_topic
from hub.consumers.records import IncomingRecord, OutgoingMessage, outgoing
from hub.consumers.router import IngressRouter
from hub.consumers.routing import AgencyView
from hub.contracts import (
    AgencyKind,
    CloudEvent,
    DataCategory,
    Purpose,
    ServiceCode,
    default_registry,
)
from hub.contracts.events import ConsentGrantedV2, ConsentScopeV2, GrantedBy
from hub.observability import HubMetrics
from hub.services.intake import accept_event
from hub.store import Store, disclosures
from hub.store import audit as audit_store
from tests.consumers.sealed import in_clear
from tests.support import Agency, agency, consent_event, referral_event, subject_id, uid

REGISTRY = default_registry()


@dataclass
class _Publisher:
    messages: list[OutgoingMessage] = field(default_factory=list)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages.extend(messages)

    def to(self, reader: Agency) -> list[OutgoingMessage]:
        return [m for m in self.messages if m.topic == inbox_topic(reader.id)]


@dataclass
class Network:
    store: Store
    router: IngressRouter
    publisher: _Publisher
    hospital: Agency
    court: Agency
    shelter: Agency
    offsets: Iterator[int] = field(default_factory=itertools.count)

    async def route(self, event: CloudEvent) -> None:
        """Accept the event as the API does, then route it."""
        accept_event(self.store, REGISTRY, event, sender=event.source, now=datetime.now(UTC))
        message = outgoing(INGRESS, event)
        record = IncomingRecord(
            INGRESS, 0, next(self.offsets), message.key, message.value, message.headers
        )
        await self.router.handle([record])

    def consent(self, *, court_refers_onward: bool) -> ConsentGrantedV2:
        """The hospital records her consent: the court for justice, shelters for protection."""
        now = datetime.now(UTC)
        return ConsentGrantedV2(
            consent_id=uid("cns"),
            subject_id=subject_id(),
            recorded_by=self.hospital.id,
            granted_by=GrantedBy.SURVIVOR,
            scope=(
                ConsentScopeV2(
                    recipient_agency=self.court.id,
                    purposes=(Purpose.JUSTICE,),
                    categories=(DataCategory.CONTACT, DataCategory.NARRATIVE),
                    may_refer_onward=court_refers_onward,
                ),
                ConsentScopeV2(
                    recipient_kind=AgencyKind.SHELTER,
                    purposes=(Purpose.PROTECTION,),
                    categories=(DataCategory.CONTACT,),
                ),
            ),
            valid_from=now.replace(year=now.year - 1),
            valid_until=now.replace(year=now.year + 1),
        )


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    hospital = agency(AgencyKind.HOSPITAL)
    court = agency(AgencyKind.COURT)
    shelter = agency(AgencyKind.SHELTER)
    views = {a.id: AgencyView(a.id, a.kind) for a in (hospital, court, shelter)}
    publisher = _Publisher()
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as store:
        router = IngressRouter(
            store=store,
            registry=REGISTRY,
            agencies=views,
            publisher=publisher,
            metrics=HubMetrics.create(),
            hub_id="referral-hub",
        )
        yield Network(store, router, publisher, hospital, court, shelter)


@pytest.mark.parametrize("version", [1, 2])
async def test_a_recipient_cannot_refer_her_onward_on_a_consent_it_only_read(
    network: Network, version: int
) -> None:
    """The court refers on the hospital's consent id: the shelter gets nothing, the court
    hears why, and the audit log records the block."""
    consent = network.consent(court_refers_onward=False)
    await network.route(consent_event(consent))
    await network.route(referral_event(network.hospital, network.court, consent))
    onward = referral_event(
        network.court,
        network.shelter,
        consent,
        version=version,
        service=ServiceCode.EMERGENCY_SHELTER,
    )

    await network.route(onward)

    assert network.publisher.to(network.shelter) == []
    notices = [json.loads(in_clear(network.store, m)) for m in network.publisher.to(network.court)]
    failed = [n for n in notices if n.get("failed_event_id") == onward.id]
    assert len(failed) == 1
    assert failed[0]["reason"] == "consent-scope"
    assert failed[0]["recipient"] == network.shelter.id
    assert "refer her onward" in failed[0]["detail"]
    with network.store.transaction() as conn:
        assert disclosures.for_referral(conn, onward.subject) == []
        logged = audit_store.entries(conn, referral_id=onward.subject)
    blocked = [entry for entry in logged if entry.action == "blocked"]
    assert len(blocked) == 1
    assert blocked[0].details == {"recipient": network.shelter.id, "reason": "consent-scope"}


async def test_a_recipient_she_named_may_refer_her_onward(network: Network) -> None:
    """A consent that names the court as one that may refer onward lets its referral through."""
    consent = network.consent(court_refers_onward=True)
    await network.route(consent_event(consent))
    onward = referral_event(
        network.court, network.shelter, consent, service=ServiceCode.EMERGENCY_SHELTER
    )

    await network.route(onward)

    (copy,) = network.publisher.to(network.shelter)
    data = json.loads(in_clear(network.store, copy))
    assert data["referral_id"] == onward.subject
    # Still only what her consent grants the shelter.
    assert "contact" in data
    assert "narrative" not in data


async def test_an_agency_named_as_a_recipient_only_cannot_refer_onward(network: Network) -> None:
    """Being named as a recipient is not leave to refer: the shelter may not refer to the court."""
    consent = network.consent(court_refers_onward=True)
    await network.route(consent_event(consent))
    onward = referral_event(network.shelter, network.court, consent)

    await network.route(onward)

    assert network.publisher.to(network.court) == []
