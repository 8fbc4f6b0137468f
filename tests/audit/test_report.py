"""The consent report: each disclosure judged against the consent in force at its time."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.audit import AuditAction, AuditRecorder, check_disclosures, consent_report
from hub.audit import disclosure_details as dd
from hub.audit.report import ConsentReport
from hub.contracts import AgencyKind
from hub.store import ReferralRow, Store, referrals
from tests.audit.helpers import at, record_consent, scope

KINDS = {
    "hospital-a": AgencyKind.HOSPITAL,
    "court-b": AgencyKind.COURT,
    "shelter-c": AgencyKind.SHELTER,
    "police-d": AgencyKind.POLICE,
}


@pytest.fixture
def consented(store: Store) -> Store:
    """Consent c1 for court-b and any shelter, granted at minute 0, withdrawn at minute 60."""
    scopes = [
        scope(agency="court-b", purposes=("justice",), categories=("contact",)),
        scope(kind="shelter", purposes=("protection",), categories=("contact", "safety-risk")),
    ]
    record_consent(store, "c1", scopes=scopes, when=at(0))
    record_consent(store, "c1", scopes=scopes, when=at(60), status="withdrawn")
    return store


def _disclose(
    store: Store,
    recorder: AuditRecorder,
    when: datetime,
    recipient: str,
    disclosed: list[str],
    *,
    action: AuditAction = AuditAction.ROUTED,
    purpose: str | None = "justice",
    consent_id: str | None = "c1",
    referral_id: str = "r1",
    **extra: object,
) -> str:
    with store.transaction() as conn:
        row = recorder.record(
            conn,
            action=action,
            actor="hub",
            at=when,
            event_id=f"ev-{when:%H%M%S}-{recipient}",
            referral_id=referral_id,
            consent_id=consent_id,
            details={
                **dd(recipient=recipient, disclosed=disclosed, purpose=purpose),
                **extra,
            },
        )
    return row.entry_id


def _report(store: Store, **window: datetime | None) -> ConsentReport:
    with store.transaction() as conn:
        return check_disclosures(conn, **window, agency_kinds=KINDS)


def _reasons(report: ConsentReport) -> dict[str, str]:
    return {v.entry.entry_id: v.reason for v in report.violations}


def test_covered_disclosures_pass(consented: Store, recorder: AuditRecorder) -> None:
    """Disclosures within scope, by agency or by kind, while the consent is active, pass."""
    _disclose(consented, recorder, at(10), "court-b", ["contact"])
    _disclose(consented, recorder, at(11), "shelter-c", ["safety-risk"], purpose="protection")
    _disclose(consented, recorder, at(12), "court-b", ["contact"], action=AuditAction.DELIVERED)
    report = _report(consented)
    assert (report.checked, report.violations, report.overrides) == (3, [], [])


def test_disclosure_outside_scope_is_a_violation(consented: Store, recorder: AuditRecorder) -> None:
    """A category, a recipient or a purpose the consent does not name is a violation."""
    medical = _disclose(consented, recorder, at(10), "court-b", ["contact", "medical"])
    police = _disclose(consented, recorder, at(11), "police-d", [])
    purpose = _disclose(consented, recorder, at(12), "court-b", ["contact"], purpose="care")
    report = _report(consented)
    assert _reasons(report) == {
        medical: "categories-outside-scope",
        police: "consent-scope",
        purpose: "consent-scope",
    }
    first = report.violations[0]
    assert (first.recipient, first.disclosed) == ("court-b", ("contact", "medical"))
    assert "medical" in first.detail
    with consented.transaction() as conn:
        assert consent_report(conn, agency_kinds=KINDS) == report.violations


def test_disclosure_after_withdrawal_is_a_violation(
    consented: Store, recorder: AuditRecorder
) -> None:
    """The same disclosure is covered before the withdrawal and a violation after it."""
    _disclose(consented, recorder, at(59), "court-b", ["contact"], action=AuditAction.DELIVERED)
    late = _disclose(
        consented, recorder, at(61), "court-b", ["contact"], action=AuditAction.DELIVERED
    )
    report = _report(consented)
    assert report.checked == 2
    assert _reasons(report) == {late: "consent-withdrawn"}


def test_overrides_are_listed_not_violations(consented: Store, recorder: AuditRecorder) -> None:
    """A compelled disclosure, even after withdrawal and outside scope, is an override."""
    entry = _disclose(
        consented,
        recorder,
        at(70),
        "police-d",
        ["narrative"],
        action=AuditAction.OVERRIDE,
        override="order-2026-17",
    )
    report = _report(consented)
    assert (report.checked, report.violations) == (0, [])
    [override] = report.overrides
    assert (override.entry.entry_id, override.recipient, override.order) == (
        entry,
        "police-d",
        "order-2026-17",
    )
    assert override.disclosed == ("narrative",)


def test_recording_agency_and_notices_are_exempt(consented: Store, recorder: AuditRecorder) -> None:
    """Copies to the agency that recorded the consent, and the hub's notices, are not judged."""
    _disclose(consented, recorder, at(70), "hospital-a", ["medical"])
    _disclose(consented, recorder, at(71), "court-b", [], notice=True)
    _disclose(consented, recorder, at(72), "shelter-c", [], consent_id=None)
    assert _report(consented).violations == []


def test_missing_and_expired_consent(store: Store, recorder: AuditRecorder) -> None:
    """Data sent under no consent, an unknown one, or an expired one is a violation."""
    record_consent(store, "c2", scopes=[scope(agency="court-b")], when=at(0), valid_until=at(5))
    record_consent(store, "c3", scopes=[scope(agency="court-b")], when=at(0))
    record_consent(store, "c3", scopes=[scope(agency="court-b")], when=at(3), status="expired")
    none = _disclose(store, recorder, at(1), "court-b", ["contact"], consent_id=None)
    unknown = _disclose(store, recorder, at(2), "court-b", ["contact"], consent_id="nope")
    expired = _disclose(store, recorder, at(6), "court-b", ["contact"], consent_id="c2")
    marked = _disclose(store, recorder, at(4), "court-b", ["contact"], consent_id="c3")
    early = _disclose(store, recorder, at(-1), "court-b", ["contact"], consent_id="c3")
    assert _reasons(_report(store)) == {
        none: "consent-missing",
        unknown: "consent-missing",
        expired: "consent-expired",
        marked: "consent-expired",
        early: "consent-missing",
    }


def test_purpose_comes_from_the_referral_when_the_entry_has_none(
    consented: Store, recorder: AuditRecorder
) -> None:
    """Without a stated purpose the referral's service decides it; with neither, a violation."""
    with consented.transaction() as conn:
        referrals.insert_referrals(
            conn,
            [
                ReferralRow(
                    referral_id="r1",
                    from_agency="hospital-a",
                    to_agency="court-b",
                    subject_id="subject-1",
                    consent_id="c1",
                    service="court-listening-unit",
                    priority="routine",
                    status="requested",
                    due_by=None,
                    pathway_step=None,
                    created_at=at(0),
                    updated_at=at(0),
                    version=1,
                )
            ],
        )
    _disclose(consented, recorder, at(10), "court-b", ["contact"], purpose=None)
    unknown = _disclose(
        consented, recorder, at(11), "court-b", ["contact"], purpose=None, referral_id="r-none"
    )
    assert _reasons(_report(consented)) == {unknown: "purpose-unknown"}


def test_unconfigured_agency_is_covered_only_by_name(store: Store, recorder: AuditRecorder) -> None:
    """An agency absent from the kind mapping is covered by a scope naming it, not by kind."""
    record_consent(
        store,
        "c4",
        scopes=[
            scope(agency="old-clinic", purposes=("care",)),
            scope(kind="ngo", purposes=("care",)),
        ],
        when=at(0),
    )
    _disclose(store, recorder, at(1), "old-clinic", ["contact"], purpose="care", consent_id="c4")
    other = _disclose(
        store, recorder, at(2), "gone-ngo", ["contact"], purpose="care", consent_id="c4"
    )
    assert _reasons(_report(store)) == {other: "consent-scope"}


def test_window_limits_the_report(consented: Store, recorder: AuditRecorder) -> None:
    """Only entries with since <= at < until are judged."""
    _disclose(consented, recorder, at(10), "police-d", [])
    inside = _disclose(consented, recorder, at(20), "police-d", [])
    report = _report(consented, since=at(15), until=at(25))
    assert (report.checked, list(_reasons(report))) == (1, [inside])


def _referral(store: Store, referral_id: str, from_agency: str, to_agency: str) -> None:
    with store.transaction() as conn:
        referrals.insert_referrals(
            conn,
            [
                ReferralRow(
                    referral_id=referral_id,
                    from_agency=from_agency,
                    to_agency=to_agency,
                    subject_id="subject-1",
                    consent_id="c5",
                    service="emergency-shelter",
                    priority="routine",
                    status="requested",
                    due_by=None,
                    pathway_step=None,
                    created_at=at(0),
                    updated_at=at(0),
                    version=1,
                )
            ],
        )


def test_a_referral_on_a_consent_its_referrer_only_read_is_a_violation(
    store: Store, recorder: AuditRecorder
) -> None:
    """Data a referral carried under a consent its referrer neither recorded nor was named in
    to refer onward is flagged, even when the recipient is in the consent's scope."""
    scopes = [
        {**scope(agency="court-b"), "may_refer_onward": False},
        scope(kind="shelter", purposes=("protection",)),
        {**scope(kind="police"), "may_refer_onward": True},
    ]
    record_consent(store, "c5", scopes=scopes, when=at(0))
    _referral(store, "by-recorder", "hospital-a", "shelter-c")
    _referral(store, "by-court", "court-b", "shelter-c")
    _referral(store, "by-police", "police-d", "shelter-c")
    args = {"purpose": "protection", "consent_id": "c5"}

    _disclose(store, recorder, at(1), "shelter-c", ["contact"], referral_id="by-recorder", **args)
    onward = _disclose(
        store, recorder, at(2), "shelter-c", ["contact"], referral_id="by-court", **args
    )
    _disclose(store, recorder, at(3), "shelter-c", ["contact"], referral_id="by-police", **args)
    # Even the recording agency's copy is flagged when the referrer had no right to the consent.
    back = _disclose(
        store, recorder, at(4), "hospital-a", ["contact"], referral_id="by-court", **args
    )

    report = _report(store)
    assert _reasons(report) == {onward: "consent-scope", back: "consent-scope"}
    assert all("refer her onward" in v.detail for v in report.violations)
