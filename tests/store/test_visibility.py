"""What an agency may read: the referrals it sent, and what of others' reached it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.store import ConsentRow, ReferralRow, consents, disclosures, referrals, visibility


def _referral(referral_id: str, at: datetime, from_agency: str, to_agency: str) -> ReferralRow:
    return ReferralRow(
        referral_id=referral_id,
        from_agency=from_agency,
        to_agency=to_agency,
        subject_id="sub_" + "a" * 32,
        consent_id="c1",
        service="court-listening-unit",
        priority="urgent",
        status="requested",
        due_by=None,
        pathway_step=None,
        created_at=at,
        updated_at=at,
        version=1,
    )


def _deliver(conn: Connection, event_id: str, referral_id: str, to: str, at: datetime) -> None:
    disclosures.record_many(
        conn,
        [
            disclosures.DisclosureRow(
                source="hospital-1",
                event_id=event_id,
                recipient=to,
                referral_id=referral_id,
                consent_id="c1",
                disclosed=["contact"],
                withheld=[],
                at=at,
            )
        ],
    )


def _timeline(conn: Connection, referral_id: str, event_id: str, actor: str, at: datetime) -> None:
    referrals.append_timelines(
        conn,
        [
            referrals.TimelineEntry(
                referral_id=referral_id,
                event_id=event_id,
                event_type="referral.requested",
                status=None,
                actor=actor,
                at=at,
                detail={},
            )
        ],
    )


def test_a_recipient_sees_a_referral_only_once_something_of_it_reached_it(
    conn: Connection, now: datetime
) -> None:
    """The referrer always sees its referral; the recipient only after a delivery to it."""
    referrals.insert_referrals(conn, [_referral("delivered", now, "hospital-1", "court-1")])
    referrals.insert_referrals(
        conn, [_referral("blocked", now + timedelta(minutes=1), "hospital-1", "court-1")]
    )
    _deliver(conn, "e1", "delivered", "court-1", now)
    # A copy to someone else, not a party, shows the court nothing.
    _deliver(conn, "e2", "blocked", "police-1", now)

    assert visibility.referral_seen_by(conn, "delivered", "court-1") is not None
    assert visibility.referral_seen_by(conn, "blocked", "court-1") is None
    assert visibility.referral_seen_by(conn, "blocked", "police-1") is None
    assert visibility.referral_seen_by(conn, "blocked", "hospital-1") is not None
    assert visibility.referral_seen_by(conn, "nothing", "hospital-1") is None
    assert [r.referral_id for r in visibility.referrals_seen_by(conn, "court-1")] == ["delivered"]
    assert [r.referral_id for r in visibility.referrals_seen_by(conn, "hospital-1")] == [
        "blocked",
        "delivered",
    ]
    assert [r.referral_id for r in visibility.referrals_seen_by(conn, "hospital-1", 1)] == [
        "blocked"
    ]


def test_a_timeline_holds_what_the_reader_sent_or_was_delivered(
    conn: Connection, now: datetime
) -> None:
    """Events that did not reach the reader are left out of its timeline."""
    referrals.insert_referrals(conn, [_referral("r1", now, "hospital-1", "court-1")])
    _timeline(conn, "r1", "request", "hospital-1", now)
    _deliver(conn, "request", "r1", "court-1", now)
    _timeline(conn, "r1", "blocked-update", "hospital-1", now + timedelta(minutes=1))
    _timeline(conn, "r1", "court-note", "court-1", now + timedelta(minutes=2))

    court = visibility.timeline_seen_by(conn, "r1", "court-1")
    hospital = visibility.timeline_seen_by(conn, "r1", "hospital-1")

    assert [e.event_id for e in court] == ["request", "court-note"]
    assert [e.event_id for e in hospital] == ["request", "blocked-update"]
    assert visibility.timeline_seen_by(conn, "r1", "shelter-1") == []


def test_a_consent_is_seen_by_its_recorder_and_those_who_received_under_it(
    conn: Connection, now: datetime
) -> None:
    """Being named in her consent is not enough to read it: data must have reached you."""
    consents.record_consent(
        conn,
        ConsentRow(
            consent_id="c1",
            subject_id="sub_" + "a" * 32,
            recorded_by="hospital-1",
            granted_by="survivor",
            status="active",
            scope=[{"recipient_kind": "shelter", "purposes": ["protection"], "categories": []}],
            valid_from=now,
            valid_until=None,
            updated_at=now,
            last_event_id="g1",
        ),
        event_id="g1",
        at=now,
    )
    _deliver(conn, "e1", "r1", "court-1", now)

    assert visibility.consent_seen_by(conn, "c1", "hospital-1") is not None
    assert visibility.consent_seen_by(conn, "c1", "court-1") is not None
    assert visibility.consent_seen_by(conn, "c1", "shelter-1") is None
    assert visibility.consent_seen_by(conn, "unknown", "hospital-1") is None
