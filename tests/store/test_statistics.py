"""What statistics keep: counted referrals with their times and outcomes, gone when she goes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.audit import AuditRecorder, erase_subject
from hub.store import referrals, statistics

SUBJECT = "sub_" + "a" * 32


def _referral(conn: Connection, referral_id: str, consent_id: str, now: datetime) -> None:
    referrals.insert_referrals(
        conn,
        [
            referrals.ReferralRow(
                referral_id=referral_id,
                from_agency="hospital-a",
                to_agency="court-a",
                subject_id=SUBJECT,
                consent_id=consent_id,
                service="court-listening-unit",
                priority="urgent",
                status="requested",
                due_by=now + timedelta(hours=72),
                pathway_step="hospital-to-court",
                created_at=now,
                updated_at=now,
                version=1,
            )
        ],
    )
    statistics.record_referrals(
        conn,
        [statistics.CountedReferral(referral_id, now, "rape", True, "18-24", "hotline")],
    )


def test_facts_carry_classification_times_and_outcomes(conn: Connection, now: datetime) -> None:
    """A counted referral reads back with its classification, acceptance time and outcome."""
    _referral(conn, "ref-1", "cns-1", now)
    referrals.append_timelines(
        conn,
        [
            referrals.TimelineEntry(
                referral_id="ref-1",
                event_id="ev-2",
                event_type="referral.status-changed",
                status="accepted",
                actor="court-a",
                at=now + timedelta(hours=3),
                detail={},
            )
        ],
    )
    statistics.record_outcomes(
        conn, [statistics.CountedOutcome("court-a", "ev-3", "ref-1", "case-opened", now)]
    )
    (facts,) = statistics.facts_between(
        conn, now - timedelta(days=1), now + timedelta(days=1), {"hospital-to-court": "p1"}
    )
    assert (facts.violence, facts.age_band, facts.pathway, facts.step) == (
        "rape/online",
        "18-24",
        "p1",
        "hospital-to-court",
    )
    assert facts.accepted_at == now + timedelta(hours=3)
    assert facts.outcomes == ("case-opened",)
    assert (
        statistics.facts_between(conn, now + timedelta(days=1), now + timedelta(days=2), {}) == []
    )


def test_withdrawn_consent_and_erasure_remove_her_counts(conn: Connection, now: datetime) -> None:
    """Withdrawing the consent, or erasing her, leaves none of her referrals counted."""
    _referral(conn, "ref-1", "cns-1", now)
    _referral(conn, "ref-2", "cns-2", now)
    window = (now - timedelta(days=1), now + timedelta(days=1))
    statistics.forget_consent(conn, "cns-1")
    assert [f.step for f in statistics.facts_between(conn, *window, {})] == ["hospital-to-court"]
    erase_subject(conn, AuditRecorder(signer=None), SUBJECT, "hub", now)
    assert statistics.facts_between(conn, *window, {}) == []
