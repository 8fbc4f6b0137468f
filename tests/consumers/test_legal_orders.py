"""Legal orders through the router: to the holder only, answered by the holder alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.broker.topics import inbox_topic
from hub.consumers.router import IngressRouter
from hub.consumers.routing import AgencyView
from hub.contracts import (
    AgencyKind,
    CloudEvent,
    DataCategory,
    from_kafka,
    new_event,
)
from hub.contracts.events import (
    DeclineReason,
    DisclosureCompelledV2,
    LegalBasis,
    LegalOrderDeclinedV1,
    LegalOrderIssuedV1,
)
from hub.observability import HubMetrics
from hub.store import Store
from tests.consumers.sealed import in_clear
from tests.consumers.test_router import REGISTRY, RecordingPublisher
from tests.consumers.test_router import Setup as RouterSetup
from tests.support import Agency, agency, referral_event


@dataclass
class Setup(RouterSetup):
    prosecution: Agency = field(default_factory=lambda: agency(AgencyKind.PROSECUTION))

    async def route(self, event: CloudEvent) -> None:
        self.accept(event)
        await self.router.handle([self.record(event)])

    def received(self, reader: Agency) -> list[CloudEvent]:
        return [
            from_kafka(m.key, in_clear(self.store, m), m.headers)
            for m in self.publisher.to(inbox_topic(reader.id))
        ]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    hospital, court, shelter, prosecution = (
        agency(AgencyKind.HOSPITAL),
        agency(AgencyKind.COURT),
        agency(AgencyKind.SHELTER),
        agency(AgencyKind.PROSECUTION),
    )
    views = {a.id: AgencyView(a.id, a.kind) for a in (hospital, court, shelter, prosecution)}
    publisher = RecordingPublisher()
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as store:
        router = IngressRouter(
            store=store,
            registry=REGISTRY,
            agencies=views,
            publisher=publisher,
            metrics=HubMetrics.create(),
            hub_id="referral-hub",
        )
        yield Setup(store, router, publisher, hospital, court, shelter, prosecution=prosecution)


async def referred(setup: Setup) -> CloudEvent:
    referral = referral_event(setup.hospital, setup.court, setup.consent())
    await setup.route(referral)
    return referral


def order(sender: Agency, referral: CloudEvent, *categories: DataCategory) -> CloudEvent:
    payload = LegalOrderIssuedV1(
        referral_id=referral.subject,
        categories=categories,
        respond_by=datetime.now(UTC) + timedelta(days=7),
        order_reference="Order 2026/7",
        grounds="She is to be heard as a witness.",
    )
    return new_event(payload, source=sender.id)


def answer(setup: Setup, referral: CloudEvent, issued: CloudEvent) -> CloudEvent:
    payload = DisclosureCompelledV2(
        referral_id=referral.subject,
        recipient=setup.prosecution.id,
        categories=tuple(DataCategory),
        legal_basis=LegalBasis.COURT_ORDER,
        legal_reference="Order 2026/7",
        authorising_officer="Head of unit",
        inform_survivor_by=datetime.now(UTC) + timedelta(days=2),
        order_id=issued.id,
    )
    return new_event(payload, source=setup.hospital.id)


async def test_a_legal_order_goes_to_the_holder_of_the_data_only(setup: Setup) -> None:
    """The prosecution's order about the hospital's referral reaches the hospital, no one else."""
    referral = await referred(setup)
    before = {a.id: len(setup.received(a)) for a in (setup.court, setup.shelter)}
    issued = order(setup.prosecution, referral, DataCategory.CONTACT)

    await setup.route(issued)

    assert [e.id for e in setup.received(setup.hospital)] == [issued.id]
    assert {a.id: len(setup.received(a)) for a in (setup.court, setup.shelter)} == before
    assert setup.received(setup.prosecution) == []


async def test_an_agency_of_a_kind_not_allowed_cannot_issue_an_order(setup: Setup) -> None:
    """A shelter's order is refused: the holder hears nothing, the shelter hears why."""
    referral = await referred(setup)
    issued = order(setup.shelter, referral, DataCategory.CONTACT)

    await setup.route(issued)

    assert setup.received(setup.hospital) == []
    (notice,) = setup.received(setup.shelter)
    assert notice.type == "delivery.failed"
    assert notice.data["failed_event_id"] == issued.id


async def test_the_holders_answer_carries_no_category_the_order_did_not_name(
    setup: Setup,
) -> None:
    """An order for contact only, answered naming every category: only contact travels."""
    referral = await referred(setup)
    issued = order(setup.prosecution, referral, DataCategory.CONTACT)
    await setup.route(issued)

    await setup.route(answer(setup, referral, issued))

    (copy,) = [e for e in setup.received(setup.prosecution) if e.type == "referral.requested"]
    assert "contact" in copy.data
    assert not {"identity", "medical", "narrative", "legal", "evidence"} & set(copy.data)


async def test_an_answer_citing_no_order_of_the_referral_discloses_nothing(
    setup: Setup,
) -> None:
    """A disclosure citing an order the referral never had is refused."""
    referral = await referred(setup)
    stray = order(setup.prosecution, referral, DataCategory.CONTACT)

    await setup.route(answer(setup, referral, stray))

    assert [e.type for e in setup.received(setup.prosecution)] == []
    assert [e.type for e in setup.received(setup.hospital)] == ["delivery.failed"]


async def test_a_refused_order_is_answered_to_its_issuer(setup: Setup) -> None:
    """The holder declining an order: the issuer hears it, and no data goes anywhere."""
    referral = await referred(setup)
    issued = order(setup.prosecution, referral, DataCategory.MEDICAL)
    await setup.route(issued)
    declined = new_event(
        LegalOrderDeclinedV1(
            referral_id=referral.subject, order_id=issued.id, reason=DeclineReason.APPEALED
        ),
        source=setup.hospital.id,
    )

    await setup.route(declined)

    assert [e.id for e in setup.received(setup.prosecution)] == [declined.id]
