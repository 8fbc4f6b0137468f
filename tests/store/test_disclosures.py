"""The disclosures repository: what went to whom under which consent."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.store import disclosures


def _record(
    conn: Connection, event_id: str, recipient: str, consent_id: str | None, at: datetime
) -> bool:
    row = disclosures.DisclosureRow(
        source="agency-a",
        event_id=event_id,
        referral_id="r1",
        recipient=recipient,
        consent_id=consent_id,
        disclosed=["contact", "safety"],
        withheld=["health"],
        at=at,
    )
    return bool(disclosures.record_many(conn, [row]))


def test_record_and_read_back(conn: Connection, now: datetime) -> None:
    """A recorded disclosure reads back with its categories, listed by referral."""
    assert _record(conn, "e1", "shelter-1", "c1", now)
    (row,) = disclosures.for_referral(conn, "r1")
    assert (row.event_id, row.recipient, row.consent_id) == ("e1", "shelter-1", "c1")
    assert (row.disclosed, row.withheld, row.at) == (["contact", "safety"], ["health"], now)


def test_same_event_to_same_recipient_is_recorded_once(conn: Connection, now: datetime) -> None:
    """Recording the same event for the same recipient again returns False."""
    assert _record(conn, "e1", "shelter-1", "c1", now)
    assert _record(conn, "e1", "shelter-1", "c1", now + timedelta(seconds=1)) is False
    assert _record(conn, "e1", "court-1", "c1", now)
    assert len(disclosures.for_referral(conn, "r1")) == 2


def test_recipients_under_consent(conn: Connection, now: datetime) -> None:
    """recipients_under lists each agency that received data under the consent once."""
    _record(conn, "e1", "shelter-1", "c1", now)
    _record(conn, "e2", "shelter-1", "c1", now)
    _record(conn, "e2", "court-1", "c1", now)
    _record(conn, "e3", "police-1", "c2", now)
    _record(conn, "e4", "hospital-2", None, now)
    assert disclosures.recipients_under(conn, "c1") == {"shelter-1", "court-1"}
    assert disclosures.recipients_under(conn, "nope") == set()


def test_record_many_counts_new_copies(conn: Connection, now: datetime) -> None:
    """A batch records each copy once; copies already recorded are left as they were."""
    _record(conn, "e1", "shelter-1", "c1", now)
    rows = [
        disclosures.DisclosureRow(
            "e1", "shelter-1", "r1", "c1", ["narrative"], [], now, "agency-a"
        ),
        disclosures.DisclosureRow(
            "e1", "court-1", "r1", "c1", ["legal"], ["health"], now, "agency-a"
        ),
        disclosures.DisclosureRow("e2", "court-1", "r1", None, [], [], now, "agency-a"),
    ]
    assert disclosures.record_many(conn, rows) == 2
    found = {(row.event_id, row.recipient): row for row in disclosures.for_referral(conn, "r1")}
    assert found[("e1", "shelter-1")].disclosed == ["contact", "safety"]
    assert found[("e1", "court-1")].withheld == ["health"]
    assert found[("e2", "court-1")].consent_id is None
    assert disclosures.record_many(conn, []) == 0
