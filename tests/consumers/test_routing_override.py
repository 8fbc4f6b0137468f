"""Compelled disclosure: delivered without consent, limited to what the law names, told to all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.consumers.routing import Decision, decide
from hub.contracts import CloudEvent, DataCategory, field_categories, new_event
from hub.contracts.events import (
    DisclosureCompelledV1,
    FailureReason,
    LegalBasis,
    ReferralRequestedV1,
)
from tests.consumers.test_routing import (
    AGENCIES,
    COURT,
    HOSPITAL,
    HUB_ID,
    NGO,
    NOW,
    POLICE,
    REGISTRY,
    SHELTER,
    record,
    referral_to_court,
    state_of,
)

LAW = (DataCategory.SAFETY_RISK, DataCategory.CONTACT)


def override_event(sender: str, referral_id: str, recipient: str) -> CloudEvent:
    payload = DisclosureCompelledV1(
        referral_id=referral_id,
        recipient=recipient,
        categories=LAW,
        legal_basis=LegalBasis.CHILD_AT_RISK,
        legal_reference="Statutory duty to report a child at risk",
        authorising_officer="Head of unit, on duty",
        inform_survivor_by=datetime.now(UTC) + timedelta(hours=48),
    )
    return new_event(payload, source=sender)


def compel(override: CloudEvent, request: CloudEvent, *, withdrawn: bool = False) -> Decision:
    _, consent = referral_to_court()
    consent_record = record(consent, status="withdrawn" if withdrawn else "active")
    return decide(
        override,
        REGISTRY.parse(override),
        state_of(request),
        consent_record,
        AGENCIES,
        hub_id=HUB_ID,
        cast=REGISTRY.cast,
        now=NOW,
        original=(request, REGISTRY.parse(request)),
    )


def test_the_recipient_gets_the_referral_limited_to_what_the_law_names() -> None:
    """The police, named by no consent, receive the referral with only the compelled categories."""
    request, _ = referral_to_court()
    override = override_event(HOSPITAL.agency_id, request.subject, POLICE.agency_id)

    decision = compel(override, request)

    to_police = [d for d in decision.deliveries if d.recipient == POLICE.agency_id]
    copy = next(d.event for d in to_police if d.event.type == "referral.requested")
    categories = field_categories(ReferralRequestedV1)
    present = {categories[name] for name in copy.data if categories.get(name) is not None}
    assert present <= set(LAW)
    assert copy.extensions["overrideid"] == override.id
    assert all(d.override for d in decision.deliveries)
    assert decision.blocked == ()


def test_the_recording_agency_is_told_so_it_can_inform_her() -> None:
    """The override itself reaches the recipient and the agency that recorded her consent."""
    request, consent = referral_to_court()
    override = override_event(HOSPITAL.agency_id, request.subject, POLICE.agency_id)

    decision = compel(override, request)

    told = {d.recipient for d in decision.deliveries if d.event.id == override.id}
    assert told == {POLICE.agency_id, consent.recorded_by}


def test_a_withdrawn_consent_does_not_stop_a_compelled_disclosure() -> None:
    """The law overrides her withdrawal: the disclosure still goes, marked as an override."""
    request, _ = referral_to_court()
    override = override_event(HOSPITAL.agency_id, request.subject, POLICE.agency_id)

    decision = compel(override, request, withdrawn=True)

    assert {d.recipient for d in decision.deliveries} >= {POLICE.agency_id}
    assert decision.refusal is None


def test_only_a_party_may_compel_a_disclosure() -> None:
    """An agency that is not party to the referral cannot disclose it, nor learn it exists."""
    request, _ = referral_to_court()
    override = override_event(POLICE.agency_id, request.subject, POLICE.agency_id)

    decision = compel(override, request)

    assert decision.deliveries == ()
    assert decision.refusal is not None
    assert decision.refusal[0] is FailureReason.UNKNOWN_REFERRAL


def test_a_compelled_disclosure_goes_only_to_a_kind_allowed_to_receive_it() -> None:
    """The holder compelling a disclosure to a shelter or an NGO is refused; nothing goes."""
    request, _ = referral_to_court()
    for recipient in (SHELTER, NGO):
        override = override_event(HOSPITAL.agency_id, request.subject, recipient.agency_id)

        decision = compel(override, request)

        assert decision.deliveries == ()
        assert decision.refusal is not None
        assert decision.refusal[0] is FailureReason.INVALID_EVENT
        assert recipient.kind.value in decision.refusal[1]


def test_a_party_that_did_not_send_the_data_cannot_disclose_any_of_it() -> None:
    """The court compelling the hospital's referral to the police sends the police nothing."""
    request, _ = referral_to_court()
    payload = REGISTRY.parse(override_event(COURT.agency_id, request.subject, POLICE.agency_id))
    everything = new_event(
        payload.model_copy(update={"categories": tuple(DataCategory)}), source=COURT.agency_id
    )

    decision = compel(everything, request)

    assert decision.deliveries == ()
    assert decision.refusal is not None
    assert decision.refusal[0] is FailureReason.NOT_A_PARTY
