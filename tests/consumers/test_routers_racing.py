"""Two routers on one PostgreSQL store: a withdrawal racing a disclosure under its consent.

Each router has its own store connection pool, as two hub processes would, and
runs its transactions on its own threads; the test holds one of them at a chosen
point so that the other's transaction falls inside the race window.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from hub.audit import AuditRecorder, EntryDraft
from hub.broker.topics import INGRESS, inbox_topic
from hub.consumers.records import IncomingRecord, OutgoingMessage
from hub.consumers.router import IngressRouter
from hub.consumers.routing import AgencyView
from hub.consumers.sealing import seal_messages
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, default_registry
from hub.observability import HubMetrics
from hub.services.intake import accept_event
from hub.store import Store, disclosures
from hub.store.audit import AuditEntryRow
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    referral_event,
    scope,
    withdrawal_event,
)

pytestmark = pytest.mark.postgres

REGISTRY = default_registry()
HOSPITAL, COURT = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
VIEWS = {a.id: AgencyView(a.id, a.kind) for a in (HOSPITAL, COURT)}
_offsets = itertools.count()


class _Gate:
    """Holds a router's thread at one point until the test lets it go."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()
        self.armed = False

    def hold(self) -> None:
        if self.armed:
            self.armed = False
            self.reached.set()
            assert self.opened.wait(30), "the test never opened the gate"

    async def wait_reached(self) -> None:
        assert await asyncio.to_thread(self.reached.wait, 30), "the router never got there"


class _HeldInsideCommit(AuditRecorder):
    """Holds the router inside its commit, with its locks taken, before the audit entries."""

    def __init__(self, gate: _Gate) -> None:
        super().__init__(signer=None, actor="referral-hub")
        self._gate = gate

    def record_many(self, conn: Connection, drafts: Sequence[EntryDraft]) -> list[AuditEntryRow]:
        self._gate.hold()
        return super().record_many(conn, drafts)


class _HeldBeforeCommit(Store):
    """Holds the router after it has planned a batch, before its commit begins."""

    gate: _Gate
    calls = 0

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        self.calls += 1
        if self.calls == 2:  # the first is the plan, the second the commit
            self.gate.hold()
        with super().transaction() as conn:
            yield conn


@dataclass
class _Publisher:
    messages: list[OutgoingMessage] = field(default_factory=list)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages.extend(messages)

    def ids_to(self, recipient: str) -> list[str]:
        topic = inbox_topic(recipient)
        return [dict(m.headers)["ce_id"].decode() for m in self.messages if m.topic == topic]


def _router(
    store: Store, publisher: _Publisher, audit: AuditRecorder | None = None
) -> IngressRouter:
    return IngressRouter(
        store=store,
        registry=REGISTRY,
        agencies=VIEWS,
        publisher=publisher,
        metrics=HubMetrics.create(),
        hub_id="referral-hub",
        audit=audit,
    )


def _record(store: Store, event: CloudEvent) -> IncomingRecord:
    with store.transaction() as conn:
        (message,) = seal_messages(conn, [(INGRESS, event)], datetime.now(UTC))
    assert message is not None
    return IncomingRecord(INGRESS, 0, next(_offsets), message.key, message.value, message.headers)


def _accept(store: Store, event: CloudEvent) -> None:
    accept_event(store, REGISTRY, event, sender=event.source, now=datetime.now(UTC))


@pytest.fixture
def store(postgres_schema_url: str) -> Iterator[Store]:
    with Store.open(postgres_schema_url) as opened:
        yield opened


def _recipients_under(store: Store, consent_id: str) -> set[str]:
    with store.transaction() as conn:
        return disclosures.recipients_under(conn, consent_id)


async def test_a_withdrawal_reaches_an_agency_whose_disclosure_another_router_is_committing(
    store: Store,
) -> None:
    """A disclosure still being committed by one router is seen by the withdrawal on another."""
    consent = consent_payload(HOSPITAL, [scope(COURT, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    _accept(store, consent_event(consent))
    referral = referral_event(HOSPITAL, COURT, consent)
    withdrawal = withdrawal_event(consent)
    gate = _Gate()
    first, second = _Publisher(), _Publisher()
    disclosing = _router(store, first, audit=_HeldInsideCommit(gate))
    withdrawing = _router(Store(store.engine), second)

    gate.armed = True
    routing = asyncio.create_task(disclosing.handle([_record(store, referral)]))
    await gate.wait_reached()
    _accept(store, withdrawal)
    notifying = asyncio.create_task(withdrawing.handle([_record(store, withdrawal)]))
    await asyncio.sleep(0.5)  # its commit now waits for the disclosure's
    gate.opened.set()
    await asyncio.gather(routing, notifying)

    assert first.ids_to(COURT.id) == [referral.id]
    assert second.ids_to(COURT.id) == [withdrawal.id]
    assert _recipients_under(store, consent.consent_id) == {COURT.id}


async def test_a_disclosure_planned_before_a_withdrawal_and_committed_after_it_is_not_made(
    store: Store, postgres_schema_url: str
) -> None:
    """A router whose plan saw the consent active decides again once another router withdrew it."""
    consent = consent_payload(HOSPITAL, [scope(COURT, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    _accept(store, consent_event(consent))
    referral = referral_event(HOSPITAL, COURT, consent)
    withdrawal = withdrawal_event(consent)
    late_store = _HeldBeforeCommit(Store.open(postgres_schema_url).engine)
    late_store.gate = _Gate()
    late_store.gate.armed = True
    first, second = _Publisher(), _Publisher()
    late = _router(late_store, first)
    withdrawing = _router(store, second)
    try:
        routing = asyncio.create_task(late.handle([_record(store, referral)]))
        await late_store.gate.wait_reached()
        _accept(store, withdrawal)
        await withdrawing.handle([_record(store, withdrawal)])
        late_store.gate.opened.set()
        await routing
    finally:
        late_store.close()

    assert first.ids_to(COURT.id) == []
    assert _recipients_under(store, consent.consent_id) == set()
