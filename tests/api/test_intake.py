"""Accepting an event (the service behind ``POST /v1/events``) on a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.contracts import AgencyKind, CloudEvent, default_registry
from hub.errors import AccessDenied, Conflict
from hub.services import intake
from hub.services.vault import unseal
from hub.store import Store, consents, outbox
from tests.support import agency, consent_event, consent_payload, referral_event, scope

REGISTRY = default_registry()
HOSPITAL = agency(AgencyKind.HOSPITAL)
COURT = agency(AgencyKind.COURT)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def accept(store: Store, event: CloudEvent, sender: str | None = None) -> intake.Acceptance:
    return intake.accept_event(
        store, REGISTRY, event, sender=sender or event.source, now=datetime.now(UTC)
    )


def a_referral() -> CloudEvent:
    return referral_event(HOSPITAL, COURT, consent_payload(HOSPITAL, [scope(COURT)]))


def stored(store: Store, event: CloudEvent) -> dict[str, Any] | None:
    """The outbox row's event, unsealed as the relay reads it."""
    with store.transaction() as conn:
        row = outbox.get(conn, event.source, event.id)
        return unseal(conn, row.envelope) if row is not None else None


def test_an_event_is_committed_to_the_outbox_once(store: Store) -> None:
    """The first acceptance creates the outbox row; the same event again creates nothing."""
    event = a_referral()

    first, again = accept(store, event), accept(store, event)

    assert (first.created, again.created) == (True, False)
    assert stored(store, event) == event.structured()


def test_a_consent_is_in_the_registry_as_soon_as_it_is_accepted(store: Store) -> None:
    """A referral accepted right after its consent already finds the consent on record."""
    consent = consent_payload(HOSPITAL, [scope(COURT)])

    accept(store, consent_event(consent))

    with store.transaction() as conn:
        row = consents.get_consent(conn, consent.consent_id)
    assert row is not None
    assert row.status == "active"
    assert row.recorded_by == HOSPITAL.id


def test_an_event_from_another_source_is_refused(store: Store) -> None:
    """The caller must be the event's source."""
    with pytest.raises(AccessDenied):
        accept(store, a_referral(), sender=COURT.id)


def test_an_agency_cannot_claim_a_compelled_disclosure(store: Store) -> None:
    """``overrideid`` makes a copy immune to withdrawal; only the hub may set it."""
    event = a_referral().model_copy(update={"overrideid": "anything"})

    with pytest.raises(AccessDenied, match="overrideid"):
        accept(store, event)

    assert stored(store, event) is None


class _RacedGet:
    """``outbox.get_many`` as seen by a request racing another with the same id: the
    first look finds nothing, because the other request has not committed yet."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = outbox.get_many

    def __call__(self, conn: Any, event_ids: Any) -> Any:
        self.calls += 1
        return {} if self.calls == 1 else self._real(conn, event_ids)


def test_a_racing_duplicate_gets_the_retry_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests with one event id at once: the loser is answered as a retry, not created."""
    event = a_referral()
    accept(store, event)
    raced = _RacedGet()
    monkeypatch.setattr(outbox, "get_many", raced)

    answer = accept(store, event)

    assert answer.created is False
    assert raced.calls >= 2  # the race was run: the first look found nothing


def test_a_racing_request_with_other_content_is_a_conflict(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser of a race carrying other content is refused, and the winner's event stays."""
    event = a_referral()
    accept(store, event)
    other = event.with_data({**event.data, "priority": "emergency"})
    raced = _RacedGet()
    monkeypatch.setattr(outbox, "get_many", raced)

    with pytest.raises(Conflict):
        accept(store, other)
    assert raced.calls >= 2

    monkeypatch.undo()
    assert stored(store, event) == event.structured()
