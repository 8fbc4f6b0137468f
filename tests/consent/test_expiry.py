"""Consent expiry: a lapsed consent is recorded as expired, in its history, at its end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.contracts import AgencyKind, default_registry
from hub.contracts.events import ConsentGrantedV1
from hub.services.consent_expiry import expire_due_consents
from hub.services.intake import accept_event
from hub.store import Store, consents
from tests.support import agency, consent_event, consent_payload, scope

HOSPITAL = agency(AgencyKind.HOSPITAL)
COURT = agency(AgencyKind.COURT)
T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


SUBJECT = "sub_" + "e" * 32


def grant(store: Store, start: datetime, end: datetime, consent_id: str | None = None) -> str:
    payload: ConsentGrantedV1 = consent_payload(
        HOSPITAL,
        [scope(COURT)],
        consent_id=consent_id,
        subject=SUBJECT,
        valid_from=start,
        valid_until=end,
    )
    accept_event(store, default_registry(), consent_event(payload), sender=HOSPITAL.id, now=start)
    return payload.consent_id


def status(store: Store, consent_id: str) -> str:
    with store.transaction() as conn:
        row = consents.get_consent(conn, consent_id)
    assert row is not None
    return row.status


def test_a_lapsed_consent_is_recorded_as_expired_at_its_end(store: Store) -> None:
    """The sweep marks it expired, with the history entry dated ``valid_until``."""
    consent_id = grant(store, T0, T0 + DAY)
    assert expire_due_consents(store, T0 + DAY / 2) == []

    assert expire_due_consents(store, T0 + 2 * DAY) == [consent_id]

    assert status(store, consent_id) == "expired"
    with store.transaction() as conn:
        history = consents.consent_history(conn, consent_id)
    assert [(v.status, v.changed_at) for v in history][-1] == ("expired", T0 + DAY)
    assert expire_due_consents(store, T0 + 3 * DAY) == []


def test_a_consent_granted_again_expires_again(store: Store) -> None:
    """Re-granted after it lapsed, a consent is active for its new period and expires again."""
    consent_id = grant(store, T0, T0 + DAY)
    expire_due_consents(store, T0 + 2 * DAY)
    grant(store, T0 + 3 * DAY, T0 + 4 * DAY, consent_id=consent_id)
    assert status(store, consent_id) == "active"

    assert expire_due_consents(store, T0 + 5 * DAY) == [consent_id]

    assert status(store, consent_id) == "expired"
