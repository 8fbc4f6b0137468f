"""The consents repository: current state, history and point-in-time queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from hub.store import ConsentRow, consents

SCOPE: list[dict[str, Any]] = [
    {"purpose": "referral", "recipients": ["shelter"]},
    {"purpose": "follow-up"},
]


def _consent(at: datetime, status: str = "active") -> ConsentRow:
    return ConsentRow(
        consent_id="c1",
        subject_id="s1",
        recorded_by="hospital-1",
        granted_by="s1",
        status=status,
        scope=SCOPE,
        valid_from=at,
        valid_until=at + timedelta(days=90),
        updated_at=at,
        last_event_id="ignored",
    )


def test_record_then_get(conn: Connection, now: datetime) -> None:
    """A recorded consent reads back with updated_at and last_event_id from the event."""
    row = _consent(now)
    assert consents.record_consent(conn, row, event_id="ev1", at=now + timedelta(seconds=5))
    stored = consents.get_consent(conn, "c1")
    assert stored == replace(row, updated_at=now + timedelta(seconds=5), last_event_id="ev1")


def test_get_unknown_is_none(conn: Connection) -> None:
    """get_consent returns None for a consent never recorded."""
    assert consents.get_consent(conn, "nope") is None


def test_changes_update_current_and_append_history(conn: Connection, now: datetime) -> None:
    """Each new event replaces the current row and adds a numbered history version."""
    consents.record_consent(conn, _consent(now), event_id="ev1", at=now)
    later = now + timedelta(days=1)
    withdrawn = replace(_consent(now, "withdrawn"), scope=[], valid_until=None)
    assert consents.record_consent(conn, withdrawn, event_id="ev2", at=later)
    current = consents.get_consent(conn, "c1")
    assert current is not None
    assert (current.status, current.scope, current.valid_until) == ("withdrawn", [], None)
    assert current.last_event_id == "ev2"
    history = consents.consent_history(conn, "c1")
    assert [(h.seq, h.event_id, h.status) for h in history] == [
        (1, "ev1", "active"),
        (2, "ev2", "withdrawn"),
    ]
    assert history[0].scope == SCOPE
    assert history[0].changed_at == now
    assert history[1].changed_at == later


def test_duplicate_event_changes_nothing(conn: Connection, now: datetime) -> None:
    """Recording an event id already recorded for the consent returns False and changes nothing."""
    consents.record_consent(conn, _consent(now), event_id="ev1", at=now)
    consents.record_consent(conn, _consent(now, "withdrawn"), event_id="ev2", at=now)
    replayed = consents.record_consent(
        conn, _consent(now, "active"), event_id="ev1", at=now + timedelta(hours=1)
    )
    assert replayed is False
    current = consents.get_consent(conn, "c1")
    assert current is not None
    assert current.status == "withdrawn"
    assert current.last_event_id == "ev2"
    assert len(consents.consent_history(conn, "c1")) == 2


def test_event_id_is_scoped_to_the_consent(conn: Connection, now: datetime) -> None:
    """The same event id may be recorded for two different consents."""
    consents.record_consent(conn, _consent(now), event_id="ev1", at=now)
    other = replace(_consent(now), consent_id="c2")
    assert consents.record_consent(conn, other, event_id="ev1", at=now)


def test_unknown_status_is_rejected(conn: Connection, now: datetime) -> None:
    """A status outside active, withdrawn and expired raises ValueError."""
    with pytest.raises(ValueError, match="status"):
        consents.record_consent(conn, _consent(now, "maybe"), event_id="ev1", at=now)


def test_history_of_unknown_is_empty(conn: Connection) -> None:
    """consent_history of a consent never recorded is an empty list."""
    assert consents.consent_history(conn, "nope") == []


def test_consent_as_of(conn: Connection, now: datetime) -> None:
    """consent_as_of returns the last version changed at or before the given time."""
    t1, t2 = now, now + timedelta(days=10)
    consents.record_consent(conn, _consent(t1), event_id="ev1", at=t1)
    consents.record_consent(conn, _consent(t1, "withdrawn"), event_id="ev2", at=t2)
    assert consents.consent_as_of(conn, "c1", t1 - timedelta(microseconds=1)) is None
    at_grant = consents.consent_as_of(conn, "c1", t1)
    assert at_grant is not None
    assert at_grant.status == "active"
    between = consents.consent_as_of(conn, "c1", t1 + timedelta(days=5))
    assert between is not None
    assert between.event_id == "ev1"
    at_withdrawal = consents.consent_as_of(conn, "c1", t2)
    assert at_withdrawal is not None
    assert at_withdrawal.status == "withdrawn"
    assert consents.consent_as_of(conn, "nope", t2) is None


def test_consent_as_of_places_late_events_by_time(conn: Connection, now: datetime) -> None:
    """An event recorded late for an earlier change is found at the time of that change."""
    t1, t2, t3 = now, now + timedelta(days=1), now + timedelta(days=2)
    consents.record_consent(conn, _consent(t1), event_id="ev1", at=t1)
    consents.record_consent(conn, _consent(t1, "expired"), event_id="ev3", at=t3)
    consents.record_consent(conn, _consent(t1, "withdrawn"), event_id="ev2", at=t2)
    found = consents.consent_as_of(conn, "c1", t2 + timedelta(hours=1))
    assert found is not None
    assert found.event_id == "ev2"
    latest = consents.consent_as_of(conn, "c1", t3)
    assert latest is not None
    assert latest.event_id == "ev3"
