"""Replaying the log in time order, with the consent in force at each disclosure."""

from __future__ import annotations

from hub.audit import AuditAction, AuditRecorder, disclosure_details, timeline
from hub.store import Store
from tests.audit.helpers import at, record_consent, scope


def _log(store: Store, recorder: AuditRecorder) -> None:
    record_consent(store, "c1", scopes=[scope(agency="court-b")], when=at(0))
    record_consent(store, "c1", scopes=[scope(agency="court-b")], when=at(30), status="withdrawn")
    entries = [
        (at(5), AuditAction.ACCEPTED, "hospital-a", "r1", None),
        (at(3), AuditAction.CONSENT_GRANTED, "hospital-a", None, None),
        (at(10), AuditAction.ROUTED, "hub", "r1", "court-b"),
        (at(12), AuditAction.ROUTED, "hub", "r2", "shelter-c"),
        (at(40), AuditAction.DELIVERED, "hub", "r1", "court-b"),
        (at(41), AuditAction.ACKNOWLEDGED, "court-b", "r1", None),
    ]
    with store.transaction() as conn:
        for when, action, actor, referral, recipient in entries:
            details = (
                disclosure_details(recipient=recipient, disclosed=["contact"]) if recipient else {}
            )
            recorder.record(
                conn,
                action=action,
                actor=actor,
                at=when,
                referral_id=referral,
                consent_id="c1",
                details=details,
            )


def test_timeline_is_in_time_order_across_chains(store: Store, recorder: AuditRecorder) -> None:
    """Entries of every chain come back oldest first."""
    _log(store, recorder)
    with store.transaction() as conn:
        items = timeline(conn)
    assert [item.entry.at for item in items] == sorted(item.entry.at for item in items)
    assert [item.entry.action for item in items] == [
        "consent-granted",
        "accepted",
        "routed",
        "routed",
        "delivered",
        "acknowledged",
    ]


def test_disclosures_carry_the_consent_in_force_then(store: Store, recorder: AuditRecorder) -> None:
    """A disclosure shows the consent version of its time; other entries show none."""
    _log(store, recorder)
    with store.transaction() as conn:
        items = timeline(conn, referral_id="r1")
    shown = [(i.entry.action, i.consent.status if i.consent else None) for i in items]
    assert shown == [
        ("accepted", None),
        ("routed", "active"),
        ("delivered", "withdrawn"),
        ("acknowledged", None),
    ]
    document = items[1].as_dict()
    assert document["consent_in_force"]["version"] == 1
    assert document["details"]["recipient"] == "court-b"


def test_filters(store: Store, recorder: AuditRecorder) -> None:
    """Agency keeps entries it made or received; since/until keep a half-open window."""
    _log(store, recorder)
    with store.transaction() as conn:
        court = timeline(conn, agency_id="court-b")
        window = timeline(conn, since=at(10), until=at(40))
        both = timeline(conn, referral_id="r1", agency_id="court-b", since=at(11))
    assert [(i.entry.action, i.entry.actor) for i in court] == [
        ("routed", "hub"),
        ("delivered", "hub"),
        ("acknowledged", "court-b"),
    ]
    assert [i.entry.at for i in window] == [at(10), at(12)]
    assert [i.entry.action for i in both] == ["delivered", "acknowledged"]
