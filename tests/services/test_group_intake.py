"""Events arriving together are committed together, each answered on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.audit import AuditRecorder
from hub.contracts import AgencyKind, CloudEvent, Purpose, default_registry
from hub.contracts.events import ConsentScope
from hub.errors import Conflict, StoreError
from hub.services.group_intake import GroupIntake
from hub.services.intake import vet
from hub.store import Store, outbox
from tests.support import consent_event, consent_payload

REGISTRY = default_registry()
SCOPE = [ConsentScope(recipient_kind=AgencyKind.COURT, purposes=(Purpose.JUSTICE,))]


def a_consent() -> CloudEvent:
    return consent_event(consent_payload("chu-test", SCOPE))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


async def test_concurrent_events_are_all_committed(store: Store) -> None:
    """Fifty submissions at once each get their acceptance, and all fifty are in the outbox."""
    intake = GroupIntake(store, audit=None)
    events = [a_consent() for _ in range(50)]
    try:
        answers = await asyncio.gather(
            *(intake.accept(e, vet(REGISTRY, e, "chu-test"), "chu-test") for e in events)
        )
    finally:
        await intake.close()
    assert [a.event_id for a in answers] == [e.id for e in events]
    assert all(a.created for a in answers)
    with store.transaction() as conn:
        assert all(outbox.get(conn, e.source, e.id) is not None for e in events)


async def test_a_refused_event_does_not_undo_the_others(store: Store) -> None:
    """A conflicting event in the same group is refused alone; its neighbours commit."""
    intake = GroupIntake(store, audit=None)
    first = a_consent()
    await intake.accept(first, vet(REGISTRY, first, "chu-test"), "chu-test")
    clash = a_consent().model_copy(update={"id": first.id})
    neighbours = [a_consent() for _ in range(5)]
    try:
        outcomes = await asyncio.gather(
            *(
                intake.accept(e, vet(REGISTRY, e, "chu-test"), "chu-test")
                for e in [neighbours[0], clash, *neighbours[1:]]
            ),
            return_exceptions=True,
        )
    finally:
        await intake.close()
    assert isinstance(outcomes[1], Conflict)
    with store.transaction() as conn:
        assert all(outbox.get(conn, e.source, e.id) is not None for e in neighbours)


async def test_the_same_event_sent_twice_at_once_is_created_once(store: Store) -> None:
    """Two requests with one id in a group: one creates it, the other hears a retry's answer."""
    intake = GroupIntake(store, audit=AuditRecorder(signer=None))
    event = a_consent()
    clash = a_consent().model_copy(update={"id": event.id})
    try:
        outcomes = await asyncio.gather(
            *(
                intake.accept(e, vet(REGISTRY, e, "chu-test"), "chu-test")
                for e in [event, event.model_copy(), clash]
            ),
            return_exceptions=True,
        )
    finally:
        await intake.close()
    created = [o.created if not isinstance(o, BaseException) else type(o) for o in outcomes]
    assert created == [True, False, Conflict]


async def test_a_failing_audit_log_refuses_every_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the audit log cannot be written, every request hears it and nothing is stored."""
    audit = AuditRecorder(signer=None)

    def unavailable(*_args: object) -> None:
        raise StoreError("the audit table is unavailable")

    monkeypatch.setattr(audit, "record_many", unavailable)
    intake = GroupIntake(store, audit=audit)
    events = [a_consent() for _ in range(3)]
    try:
        outcomes = await asyncio.gather(
            *(intake.accept(e, vet(REGISTRY, e, "chu-test"), "chu-test") for e in events),
            return_exceptions=True,
        )
    finally:
        await intake.close()
    assert all(isinstance(o, StoreError) for o in outcomes)
    with store.transaction() as conn:
        assert all(outbox.get(conn, e.source, e.id) is None for e in events)
