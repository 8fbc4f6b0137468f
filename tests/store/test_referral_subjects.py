"""The referral-subjects repository: whose data each referral carries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from hub.store import referral_subjects


def test_link_once_and_look_up(conn: Connection, now: datetime) -> None:
    """The first link names the subject for good; lookups find it alone or in a batch."""
    assert referral_subjects.link(conn, "r1", "s1", now)
    assert not referral_subjects.link(conn, "r1", "s2", now)
    referral_subjects.link(conn, "r2", "s2", now)
    assert referral_subjects.subject_of(conn, "r1") == "s1"
    assert referral_subjects.subject_of(conn, "nope") is None
    assert referral_subjects.subjects_of(conn, ["r2", "r1", "nope"]) == {"r1": "s1", "r2": "s2"}
