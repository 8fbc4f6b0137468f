"""Pull delivery: events wait in the agency's inbox table, each one once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import AgencyConfig, load_settings
from hub.contracts import AgencyKind, CloudEvent
from hub.delivery import BatchTransport, PullTransport
from hub.services.vault import unseal
from hub.store import Store, inbox
from tests.support import agency, consent_payload, referral_event, scope


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def configured(*kinds: AgencyKind) -> list[AgencyConfig]:
    return list(load_settings(None, agencies=[agency(k).config() for k in kinds]).agencies)


def an_event(recipient: AgencyConfig) -> CloudEvent:
    hospital = agency(AgencyKind.HOSPITAL)
    consent = consent_payload(hospital, [scope(recipient.kind)])
    return referral_event(hospital, recipient.id, consent)


def listed(store: Store, agency_id: str) -> list[str]:
    with store.transaction() as conn:
        return [row.event_id for row in inbox.list_after(conn, agency_id, after_seq=0, limit=100)]


async def test_a_redelivered_event_stays_in_the_inbox_once(store: Store) -> None:
    """Delivering the same event again (after a crash, say) adds nothing."""
    (court,) = configured(AgencyKind.COURT)
    event = an_event(court)
    transport = PullTransport(store)

    await transport.deliver(court, event)
    await transport.deliver(court, event)
    await transport.deliver_batch([(court, event), (court, event)])

    assert listed(store, court.id) == [event.id]


async def test_a_batch_fills_each_agencys_own_inbox_in_order(store: Store) -> None:
    """One batch for several agencies puts each event in its own agency's inbox, in order."""
    court, shelter = configured(AgencyKind.COURT, AgencyKind.SHELTER)
    first, second, third = an_event(court), an_event(shelter), an_event(court)
    transport = PullTransport(store)
    assert isinstance(transport, BatchTransport)

    await transport.deliver_batch([(court, first), (shelter, second), (court, third)])

    assert listed(store, court.id) == [first.id, third.id]
    assert listed(store, shelter.id) == [second.id]
    with store.transaction() as conn:
        row = inbox.get(conn, court.id, (first.source, first.id))
        assert row is not None
        assert unseal(conn, row.envelope) == first.structured()
