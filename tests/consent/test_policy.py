"""Consent policy: who may receive what, when, and the redaction that enforces it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.consent import ConsentRecord, Recipient, permit, redact
from hub.contracts import AgencyKind, DataCategory, Purpose
from hub.contracts.events import (
    ConsentScope,
    FailureReason,
    ReferralRequestedV1,
    ReferralStatusChangedV1,
)
from hub.contracts.examples import EXAMPLES
from hub.contracts.status import ReferralStatus
from tests.support import uid

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 9, 1, tzinfo=UTC)
DURING = datetime(2026, 5, 1, tzinfo=UTC)

HOSPITAL = Recipient("chu-policy", AgencyKind.HOSPITAL)
COURT = Recipient("court-policy", AgencyKind.COURT)
SHELTER = Recipient("shelter-policy", AgencyKind.SHELTER)


def consent(
    *scope: ConsentScope,
    status: str = "active",
    valid_until: datetime | None = END,
) -> ConsentRecord:
    return ConsentRecord(
        consent_id=uid("cns"),
        subject_id="sub_" + "a" * 32,
        recorded_by=HOSPITAL.agency_id,
        status=status,
        scope=scope,
        valid_from=START,
        valid_until=valid_until,
    )


def to(
    recipient: Recipient,
    purposes: tuple[Purpose, ...] = (Purpose.JUSTICE,),
    categories: tuple[DataCategory, ...] = (DataCategory.CONTACT,),
) -> ConsentScope:
    return ConsentScope(
        recipient_agency=recipient.agency_id, purposes=purposes, categories=categories
    )


def to_kind(
    kind: AgencyKind,
    purposes: tuple[Purpose, ...] = (Purpose.PROTECTION,),
    categories: tuple[DataCategory, ...] = (DataCategory.SAFETY_RISK,),
) -> ConsentScope:
    return ConsentScope(recipient_kind=kind, purposes=purposes, categories=categories)


@pytest.mark.parametrize(
    ("record", "at", "reason"),
    [
        (None, DURING, FailureReason.CONSENT_MISSING),
        (consent(to(COURT), status="withdrawn"), DURING, FailureReason.CONSENT_WITHDRAWN),
        (consent(to(COURT)), START - timedelta(seconds=1), FailureReason.CONSENT_SCOPE),
        (consent(to(COURT)), END, FailureReason.CONSENT_EXPIRED),
        (consent(to(SHELTER)), DURING, FailureReason.CONSENT_SCOPE),
        (consent(to(COURT, purposes=(Purpose.CARE,))), DURING, FailureReason.CONSENT_SCOPE),
    ],
    ids=["missing", "withdrawn", "not-yet-valid", "expired-at-valid-until", "not-named", "purpose"],
)
def test_a_consent_that_does_not_cover_denies_with_its_reason(
    record: ConsentRecord | None, at: datetime, reason: FailureReason
) -> None:
    """Each way a consent can fail to cover a disclosure denies it, naming why."""
    decision = permit(record, COURT, Purpose.JUSTICE, at)

    assert decision.allowed is False
    assert decision.categories == frozenset()
    assert decision.reason is reason
    assert decision.detail


def test_a_consent_covers_from_its_first_instant() -> None:
    """``valid_from`` itself is inside the validity window; ``valid_until`` is not."""
    record = consent(to(COURT))

    assert permit(record, COURT, Purpose.JUSTICE, START).allowed
    assert not permit(record, COURT, Purpose.JUSTICE, END).allowed


def test_a_consent_without_end_never_expires() -> None:
    """No ``valid_until`` means valid until withdrawn."""
    record = consent(to(COURT), valid_until=None)

    assert permit(record, COURT, Purpose.JUSTICE, START + timedelta(days=3650)).allowed


def test_the_recording_agency_may_receive_every_category() -> None:
    """The agency that recorded her consent already holds her data, scope or not."""
    decision = permit(consent(to(COURT)), HOSPITAL, Purpose.CARE, DURING)

    assert decision.allowed
    assert decision.categories == frozenset(DataCategory)


def test_a_recipient_may_be_named_by_kind() -> None:
    """A scope entry for every shelter covers this shelter, for its purpose only."""
    record = consent(to_kind(AgencyKind.SHELTER))

    allowed = permit(record, SHELTER, Purpose.PROTECTION, DURING)

    assert allowed.categories == {DataCategory.SAFETY_RISK}
    assert not permit(record, SHELTER, Purpose.JUSTICE, DURING).allowed
    assert not permit(record, COURT, Purpose.PROTECTION, DURING).allowed


def test_categories_of_every_matching_entry_for_the_purpose_add_up() -> None:
    """Two entries naming the court for justice grant the union; one for care adds nothing."""
    record = consent(
        to(COURT, categories=(DataCategory.CONTACT,)),
        to_kind(AgencyKind.COURT, (Purpose.JUSTICE,), (DataCategory.EVIDENCE,)),
        to(COURT, purposes=(Purpose.CARE,), categories=(DataCategory.MEDICAL,)),
    )

    decision = permit(record, COURT, Purpose.JUSTICE, DURING)

    assert decision.categories == {DataCategory.CONTACT, DataCategory.EVIDENCE}


def test_a_scope_entry_with_no_categories_allows_routing_fields_only() -> None:
    """Consent to be referred, sharing nothing more: allowed, with no category."""
    decision = permit(consent(to(COURT, categories=())), COURT, Purpose.JUSTICE, DURING)

    assert decision.allowed
    assert decision.categories == frozenset()


def test_redaction_keeps_granted_and_routing_fields_only() -> None:
    """Redaction removes whole fields of categories not allowed and reports what it did."""
    payload = EXAMPLES[("referral.requested", 1)]
    assert isinstance(payload, ReferralRequestedV1)
    full = payload.model_dump(mode="json", exclude_none=True)

    redaction = redact(payload, frozenset({DataCategory.CONTACT, DataCategory.SAFETY_RISK}))

    assert set(redaction.data) == set(full) - {
        "reason",
        "narrative",
        "identity",
        "medical",
        "legal",
        "evidence",
    }
    # Contact preferences travel whole, do-not-contact and safe channel included.
    assert redaction.data["contact"] == full["contact"]
    assert redaction.disclosed == (DataCategory.CONTACT, DataCategory.SAFETY_RISK)
    assert set(redaction.withheld) == {
        DataCategory.NARRATIVE,
        DataCategory.IDENTITY,
        DataCategory.MEDICAL,
        DataCategory.LEGAL,
        DataCategory.EVIDENCE,
    }
    assert set(redaction.withheld_fields) == {
        "reason",
        "narrative",
        "identity",
        "medical",
        "legal",
        "evidence",
    }


def test_redaction_reports_only_fields_that_were_there() -> None:
    """A category the payload does not carry is neither disclosed nor withheld."""
    payload = EXAMPLES[("referral.requested", 1)].model_copy(
        update={"identity": None, "legal": None}
    )

    redaction = redact(payload, frozenset({DataCategory.CONTACT}))

    assert DataCategory.IDENTITY not in redaction.withheld
    assert DataCategory.LEGAL not in redaction.withheld
    assert redaction.disclosed == (DataCategory.CONTACT,)


def test_a_status_changes_free_text_is_redacted_with_the_narrative() -> None:
    """A status change's reason, business status and note reach only who may read narrative."""
    payload = ReferralStatusChangedV1(
        referral_id=uid("ref"),
        status=ReferralStatus.REJECTED,
        business_status="waiting-list",
        status_reason="her partner works here",
        note="Call her sister.",
    )

    withheld = redact(payload, frozenset())
    shown = redact(payload, frozenset({DataCategory.NARRATIVE}))

    assert set(withheld.data) == {"referral_id", "status"}
    assert set(withheld.withheld_fields) == {"business_status", "status_reason", "note"}
    assert shown.data == payload.model_dump(mode="json", exclude_none=True)
