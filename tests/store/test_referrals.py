"""The referrals repository: referral state and per-referral timelines."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from hub.errors import StoreError
from hub.store import ReferralRow, referrals


def _referral(referral_id: str, at: datetime, **route: str) -> ReferralRow:
    return ReferralRow(
        referral_id=referral_id,
        from_agency=route.get("from_agency", "hospital-1"),
        to_agency=route.get("to_agency", "shelter-1"),
        subject_id="s1",
        consent_id="c1",
        service="emergency-housing",
        priority="urgent",
        status="submitted",
        due_by=at + timedelta(days=2),
        pathway_step=None,
        created_at=at,
        updated_at=at,
        version=1,
    )


def _insert(conn: Connection, row: ReferralRow) -> bool:
    return bool(referrals.insert_referrals(conn, [row]))


def _append(conn: Connection, referral_id: str, **fields: Any) -> bool:
    return referrals.append_timelines(conn, [referrals.TimelineEntry(referral_id, **fields)])[0]


def test_insert_then_get(conn: Connection, now: datetime) -> None:
    """An inserted referral reads back field for field."""
    row = _referral("r1", now)
    assert _insert(conn, row)
    assert referrals.get_referral(conn, "r1") == row


def test_get_unknown_is_none(conn: Connection) -> None:
    """get_referral returns None for an id never inserted."""
    assert referrals.get_referral(conn, "nope") is None


def test_duplicate_insert_is_ignored(conn: Connection, now: datetime) -> None:
    """Inserting an existing referral id returns False and keeps the original."""
    row = _referral("r1", now)
    _insert(conn, row)
    assert _insert(conn, replace(row, service="other")) is False
    assert referrals.get_referral(conn, "r1") == row


def test_update_status_bumps_version(conn: Connection, now: datetime) -> None:
    """update_status sets the status and updated_at and increments version."""
    _insert(conn, _referral("r1", now))
    later = now + timedelta(hours=1)
    referrals.update_status(conn, "r1", "accepted", later)
    referrals.update_status(conn, "r1", "in_progress", later + timedelta(hours=1))
    row = referrals.get_referral(conn, "r1")
    assert row is not None
    assert (row.status, row.version) == ("in_progress", 3)
    assert row.updated_at == later + timedelta(hours=1)
    assert row.created_at == now


def test_update_status_of_unknown_is_store_error(conn: Connection, now: datetime) -> None:
    """update_status on a referral that does not exist raises StoreError."""
    with pytest.raises(StoreError, match="does not exist"):
        referrals.update_status(conn, "nope", "accepted", now)


def test_timeline_in_append_order(conn: Connection, now: datetime) -> None:
    """Timeline entries come back numbered from 1 in the order appended."""
    _insert(conn, _referral("r1", now))
    for i, (event_type, status) in enumerate(
        [
            ("referral.submitted", "submitted"),
            ("referral.note", None),
            ("referral.accepted", "accepted"),
        ]
    ):
        appended = _append(
            conn,
            "r1",
            event_id=f"ev{i}",
            event_type=event_type,
            status=status,
            actor="shelter-1",
            at=now + timedelta(minutes=i),
            detail={"i": i},
        )
        assert appended
    entries = referrals.timeline(conn, "r1")
    assert [(e.seq, e.event_id, e.status) for e in entries] == [
        (1, "ev0", "submitted"),
        (2, "ev1", None),
        (3, "ev2", "accepted"),
    ]
    assert entries[2].detail == {"i": 2}
    assert entries[2].at == now + timedelta(minutes=2)


def test_duplicate_timeline_event_is_ignored(conn: Connection, now: datetime) -> None:
    """Appending an event id already on the timeline returns False and adds nothing."""
    _insert(conn, _referral("r1", now))

    def note(detail: dict[str, int]) -> bool:
        return _append(
            conn,
            "r1",
            event_id="ev1",
            event_type="referral.note",
            status=None,
            actor="a",
            at=now,
            detail=detail,
        )

    assert note({"n": 1})
    assert not note({"n": 2})
    assert [e.detail for e in referrals.timeline(conn, "r1")] == [{"n": 1}]


def test_the_other_partys_event_with_the_same_id_is_its_own(
    conn: Connection, now: datetime
) -> None:
    """An event id the other party used first does not keep one's own event off the timeline."""
    referrals.insert_referrals(conn, [_referral("r1", now)])
    entries = [
        referrals.TimelineEntry("r1", "ev1", "referral.status-changed", None, actor, now, {})
        for actor in ("court-1", "chu-1")
    ]

    assert referrals.append_timelines(conn, entries) == [True, True]
    assert referrals.append_timelines(conn, entries) == [False, False]
    assert [e.actor for e in referrals.timeline(conn, "r1")] == ["court-1", "chu-1"]


def test_timeline_of_unknown_referral_is_store_error(conn: Connection, now: datetime) -> None:
    """Appending to the timeline of a referral that does not exist raises StoreError."""
    with pytest.raises(StoreError):
        _append(
            conn,
            "nope",
            event_id="ev1",
            event_type="referral.note",
            status=None,
            actor="a",
            at=now,
            detail={},
        )


def test_referrals_for_agency(conn: Connection, now: datetime) -> None:
    """referrals_for_agency lists sent and received referrals, newest update first."""
    _insert(conn, _referral("r1", now))
    _insert(conn, _referral("r2", now, from_agency="shelter-1", to_agency="court-1"))
    _insert(conn, _referral("r3", now, from_agency="court-1", to_agency="hospital-1"))
    referrals.update_status(conn, "r1", "accepted", now + timedelta(hours=1))
    assert [r.referral_id for r in referrals.referrals_for_agency(conn, "shelter-1", 10)] == [
        "r1",
        "r2",
    ]
    assert [r.referral_id for r in referrals.referrals_for_agency(conn, "court-1", 1)] == ["r2"]
    assert referrals.referrals_for_agency(conn, "nobody", 10) == []


def test_overdue_counts_open_referrals_past_due(conn: Connection, now: datetime) -> None:
    """Only referrals still open after their due-by time count as stalled."""
    _insert(conn, replace(_referral("late", now), status="requested"))
    _insert(conn, replace(_referral("done", now), status="completed"))
    _insert(conn, replace(_referral("fresh", now + timedelta(days=5))))
    later = now + timedelta(days=3)
    assert referrals.count_overdue(conn, later, ["requested", "accepted", "submitted"]) == 1


def test_batch_insert_and_get(conn: Connection, now: datetime) -> None:
    """insert_referrals answers which ids were new; get_referrals finds only existing ones."""
    _insert(conn, _referral("r1", now))
    rows = [_referral(f"r{n}", now) for n in range(1, 4)]
    assert referrals.insert_referrals(conn, rows) == {"r2", "r3"}
    assert referrals.insert_referrals(conn, []) == set()
    found = referrals.get_referrals(conn, ["r3", "r1", "nope", "r3"])
    assert found == {"r1": rows[0], "r3": rows[2]}


def _entry(referral_id: str, event_id: str, at: datetime) -> referrals.TimelineEntry:
    return referrals.TimelineEntry(
        referral_id=referral_id,
        event_id=event_id,
        event_type="referral.note",
        status=None,
        actor="a",
        at=at,
        detail={"event": event_id},
    )


def test_batch_timeline_numbers_each_referral_on(conn: Connection, now: datetime) -> None:
    """A batch across referrals continues each one's numbering, in the order given."""
    referrals.insert_referrals(conn, [_referral("r1", now), _referral("r2", now)])
    referrals.append_timelines(conn, [_entry("r1", "e0", now)])
    appended = referrals.append_timelines(
        conn,
        [
            _entry("r2", "e1", now),
            _entry("r1", "e2", now),
            _entry("r1", "e0", now),  # already on r1's timeline
            _entry("r2", "e3", now),
            _entry("r2", "e1", now),  # earlier in this batch
        ],
    )
    assert appended == [True, True, False, True, False]
    assert [(e.seq, e.event_id) for e in referrals.timeline(conn, "r1")] == [
        (1, "e0"),
        (2, "e2"),
    ]
    assert [(e.seq, e.event_id) for e in referrals.timeline(conn, "r2")] == [
        (1, "e1"),
        (2, "e3"),
    ]


def test_batch_timeline_with_an_unknown_referral_appends_nothing(
    conn: Connection, now: datetime
) -> None:
    _insert(conn, _referral("r1", now))
    with pytest.raises(StoreError, match="nope"):
        referrals.append_timelines(conn, [_entry("r1", "e1", now), _entry("nope", "e2", now)])
    assert referrals.timeline(conn, "r1") == []
