"""The referral-subjects repository: whose data each referral carries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from hub.store import referral_subjects


def test_link_once_and_look_up(conn: Connection, now: datetime) -> None:
    """The first link names the subject for good; lookups find it alone or in a batch."""
    assert referral_subjects.link_many(conn, [("r1", "s1")], now) == {"r1"}
    assert referral_subjects.link_many(conn, [("r1", "s2")], now) == set()
    referral_subjects.link_many(conn, [("r2", "s2")], now)
    assert referral_subjects.subject_of(conn, "r1") == "s1"
    assert referral_subjects.subject_of(conn, "nope") is None
    assert referral_subjects.subjects_of(conn, ["r2", "r1", "nope"]) == {"r1": "s1", "r2": "s2"}


def test_link_many_names_each_referral_once(conn: Connection, now: datetime) -> None:
    """A batch of links answers which referrals were new; known ones keep their subject."""
    referral_subjects.link_many(conn, [("r1", "s1")], now)
    assert referral_subjects.link_many(conn, [("r1", "s9"), ("r2", "s2"), ("r2", "s8")], now) == {
        "r2"
    }
    assert referral_subjects.subjects_of(conn, ["r1", "r2"]) == {"r1": "s1", "r2": "s2"}
    assert referral_subjects.link_many(conn, [], now) == set()


def test_a_referral_is_linked_with_its_parties(conn: Connection, now: datetime) -> None:
    """Parties given when a referral is linked are found again; a bare link has none."""
    parties = referral_subjects.Parties("hospital", "court")
    referral_subjects.link_many(conn, [("r1", "s1"), ("r2", "s2")], now, {"r1": parties})

    assert referral_subjects.parties_of(conn, ["r1", "r2", "nope"]) == {"r1": parties, "r2": None}
