"""The pure routing decision: who receives an ingress event, and what of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.consent import ConsentRecord
from hub.consumers.routing import AgencyView, Decision, ReferralState, decide, notice_id
from hub.contracts import (
    AgencyKind,
    CloudEvent,
    DataCategory,
    Purpose,
    ReferralStatus,
    ServiceCode,
    default_registry,
    field_categories,
    new_event,
)
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentScope,
    ConsentScopeV2,
    DeliveryFailedV1,
    FailureReason,
    ReferralRequestedV1,
)
from hub.contracts.examples import EXAMPLES
from hub.contracts.vocabulary import service as service_definition
from tests.support import (
    consent_event,
    consent_payload,
    outcome_event,
    referral_event,
    referral_payload,
    status_event,
    uid,
    withdrawal_event,
)

HUB_ID = "referral-hub"
NOW = datetime.now(UTC)
REGISTRY = default_registry()

HOSPITAL = AgencyView("chu-test", AgencyKind.HOSPITAL)
COURT = AgencyView("court-test", AgencyKind.COURT)
SHELTER = AgencyView("shelter-test", AgencyKind.SHELTER)
POLICE = AgencyView("police-test", AgencyKind.POLICE)
NGO = AgencyView("ngo-test", AgencyKind.NGO)
AGENCIES: dict[str, AgencyView] = {a.agency_id: a for a in (HOSPITAL, COURT, SHELTER, POLICE, NGO)}

#: What the court may see under the standard test consent (justice purpose).
COURT_GRANTED = (
    DataCategory.CONTACT,
    DataCategory.NARRATIVE,
    DataCategory.SAFETY_RISK,
    DataCategory.MEDICAL,
    DataCategory.EVIDENCE,
)


def court_consent(**kwargs: Any) -> ConsentGrantedV1:
    """The hospital records her consent: the court for justice, shelters for protection."""
    return consent_payload(
        HOSPITAL.agency_id,
        [
            scope_for(COURT, (Purpose.JUSTICE,), COURT_GRANTED),
            ConsentScope(
                recipient_kind=AgencyKind.SHELTER,
                purposes=(Purpose.PROTECTION,),
                categories=(DataCategory.CONTACT, DataCategory.SAFETY_RISK),
            ),
        ],
        **kwargs,
    )


def scope_for(
    view: AgencyView, purposes: tuple[Purpose, ...], categories: tuple[DataCategory, ...]
) -> ConsentScope:
    return ConsentScope(recipient_agency=view.agency_id, purposes=purposes, categories=categories)


def record(consent: ConsentGrantedV1, *, status: str = "active") -> ConsentRecord:
    return ConsentRecord(
        consent_id=consent.consent_id,
        subject_id=consent.subject_id,
        recorded_by=consent.recorded_by,
        status=status,
        scope=consent.scope,
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
    )


def state_of(event: CloudEvent, status: ReferralStatus = ReferralStatus.REQUESTED) -> ReferralState:
    payload = REGISTRY.parse(event)
    assert isinstance(payload, ReferralRequestedV1)
    return ReferralState(
        referral_id=payload.referral_id,
        from_agency=payload.from_agency,
        to_agency=payload.to_agency,
        subject_id=payload.subject_id,
        consent_id=payload.consent_id,
        service=payload.service,
        status=status,
    )


def route(
    event: CloudEvent,
    *,
    referral: ReferralState | None = None,
    consent: ConsentRecord | None = None,
    agencies: Mapping[str, AgencyView] = AGENCIES,
    now: datetime = NOW,
) -> Decision:
    return decide(
        event,
        REGISTRY.parse(event),
        referral,
        consent,
        agencies,
        hub_id=HUB_ID,
        cast=REGISTRY.cast,
        now=now,
    )


def notice_data(decision: Decision) -> DeliveryFailedV1:
    (notice,) = decision.notices
    assert notice.event.type == "delivery.failed"
    assert notice.event.source == HUB_ID
    payload = REGISTRY.parse(notice.event)
    assert isinstance(payload, DeliveryFailedV1)
    return payload


def referral_to_court(**kwargs: Any) -> tuple[CloudEvent, ConsentGrantedV1]:
    consent = court_consent()
    return referral_event(HOSPITAL.agency_id, COURT.agency_id, consent, **kwargs), consent


# -- who receives what -------------------------------------------------------------------


def test_a_referral_goes_to_the_to_agency_only() -> None:
    """A referral reaches the agency it names and nobody else; the referral is recorded."""
    event, consent = referral_to_court()

    decision = route(event, consent=record(consent))

    assert [d.recipient for d in decision.deliveries] == [COURT.agency_id]
    assert decision.deliveries[0].event.id == event.id
    assert decision.deliveries[0].event.consentid == consent.consent_id
    assert decision.notices == ()
    assert decision.blocked == ()
    assert decision.refusal is None
    assert decision.new_status is ReferralStatus.REQUESTED
    assert decision.new_referral == state_of(event)


def test_a_status_change_by_the_to_agency_goes_back_to_the_referrer() -> None:
    """Closed loop: the court accepting a referral is told to the hospital that sent it."""
    referral, consent = referral_to_court()
    event = status_event(COURT.agency_id, referral.subject, ReferralStatus.ACCEPTED)

    decision = route(event, referral=state_of(referral), consent=record(consent))

    assert [d.recipient for d in decision.deliveries] == [HOSPITAL.agency_id]
    assert decision.new_status is ReferralStatus.ACCEPTED
    assert decision.new_referral is None
    # The hospital recorded her consent: it sees the note whole.
    assert decision.deliveries[0].event.data == event.data


def test_a_status_change_by_the_referrer_goes_to_the_to_agency() -> None:
    """The referrer cancelling a referral is told to the agency handling it."""
    referral, consent = referral_to_court()
    event = status_event(HOSPITAL.agency_id, referral.subject, ReferralStatus.CANCELLED)

    decision = route(event, referral=state_of(referral), consent=record(consent))

    assert [d.recipient for d in decision.deliveries] == [COURT.agency_id]
    assert decision.new_status is ReferralStatus.CANCELLED


def test_an_outcome_goes_back_to_the_referrer() -> None:
    """The court's outcome report reaches the hospital, with no change of status."""
    referral, consent = referral_to_court()
    event = outcome_event(COURT.agency_id, referral.subject)

    decision = route(
        event, referral=state_of(referral, ReferralStatus.IN_PROGRESS), consent=record(consent)
    )

    assert [d.recipient for d in decision.deliveries] == [HOSPITAL.agency_id]
    assert decision.new_status is None
    assert decision.refusal is None


def test_consent_events_route_nothing_themselves() -> None:
    """Consent grants and withdrawals change no referral and deliver nothing from routing."""
    consent = court_consent()
    for event in (consent_event(consent), withdrawal_event(consent)):
        assert route(event, consent=record(consent)) == Decision()


# -- refusals ----------------------------------------------------------------------------


def test_an_illegal_transition_is_refused_and_the_sender_told_why() -> None:
    """Reopening a completed referral changes nothing; the sender gets a notice naming it."""
    referral, consent = referral_to_court()
    event = status_event(COURT.agency_id, referral.subject, ReferralStatus.IN_PROGRESS)

    decision = route(
        event, referral=state_of(referral, ReferralStatus.COMPLETED), consent=record(consent)
    )

    assert decision.deliveries == ()
    assert decision.new_status is None
    assert decision.refusal is not None
    assert decision.refusal[0] is FailureReason.ILLEGAL_TRANSITION
    assert decision.notices[0].recipient == COURT.agency_id
    notice = notice_data(decision)
    assert notice.reason is FailureReason.ILLEGAL_TRANSITION
    assert "completed -> in-progress" in notice.detail
    assert notice.failed_event_id == event.id
    assert notice.failed_event_type == "referral.status-changed"
    assert notice.referral_id == referral.subject


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown-referral", FailureReason.UNKNOWN_REFERRAL),
        ("not-a-party", FailureReason.UNKNOWN_REFERRAL),
        ("outcome-by-referrer", FailureReason.NOT_A_PARTY),
        ("outcome-unknown-referral", FailureReason.UNKNOWN_REFERRAL),
        ("unknown-to-agency", FailureReason.UNKNOWN_AGENCY),
        ("from-agency-not-sender", FailureReason.NOT_A_PARTY),
        ("referral-exists", FailureReason.INVALID_EVENT),
    ],
)
def test_events_outside_a_referral_are_refused_with_a_notice(
    case: str, reason: FailureReason
) -> None:
    """Unknown referrals, strangers and unknown agencies change nothing; the sender hears why."""
    referral, consent = referral_to_court()
    known = state_of(referral)
    event: CloudEvent
    state: ReferralState | None = known
    sender = COURT.agency_id
    if case == "unknown-referral":
        event, state = status_event(COURT.agency_id, uid("ref"), ReferralStatus.ACCEPTED), None
    elif case == "not-a-party":
        sender = SHELTER.agency_id
        event = status_event(sender, referral.subject, ReferralStatus.ACCEPTED)
    elif case == "outcome-by-referrer":
        sender = HOSPITAL.agency_id
        event = outcome_event(sender, referral.subject)
    elif case == "outcome-unknown-referral":
        event, state = outcome_event(COURT.agency_id, uid("ref")), None
    elif case == "unknown-to-agency":
        sender = HOSPITAL.agency_id
        event, state = referral_event(HOSPITAL.agency_id, "nowhere-agency", consent), None
    elif case == "from-agency-not-sender":
        sender = NGO.agency_id
        payload = referral_payload(HOSPITAL.agency_id, COURT.agency_id, consent)
        event, state = new_event(payload, source=sender, consent_id=consent.consent_id), None
    else:
        sender = HOSPITAL.agency_id
        event = referral_event(
            HOSPITAL.agency_id, COURT.agency_id, consent, referral_id=referral.subject
        )

    decision = route(event, referral=state, consent=record(consent))

    assert decision.refusal is not None
    assert decision.refusal[0] is reason
    assert decision.deliveries == ()
    assert decision.new_referral is None
    assert decision.new_status is None
    assert [n.recipient for n in decision.notices] == [sender]
    assert notice_data(decision).reason is reason


@pytest.mark.parametrize("kind", ["status", "outcome"])
def test_a_stranger_hears_the_same_of_a_referral_as_of_none(kind: str) -> None:
    """An agency no party to a referral is answered as if the referral did not exist."""
    referral, consent = referral_to_court()
    missing = uid("ref")
    make = {
        "status": lambda rid: status_event(SHELTER.agency_id, rid, ReferralStatus.ACCEPTED),
        "outcome": lambda rid: outcome_event(SHELTER.agency_id, rid),
    }[kind]

    existing = route(make(referral.subject), referral=state_of(referral), consent=record(consent))
    absent = route(make(missing), referral=None, consent=record(consent))

    assert existing.refusal is not None
    assert absent.refusal is not None
    assert existing.refusal[0] is absent.refusal[0]
    assert existing.refusal[1].replace(referral.subject, "?") == absent.refusal[1].replace(
        missing, "?"
    )
    seen, unseen = notice_data(existing), notice_data(absent)
    assert (seen.reason, seen.detail.replace(referral.subject, "?")) == (
        unseen.reason,
        unseen.detail.replace(missing, "?"),
    )


def test_a_refusal_for_an_unknown_sender_tells_nobody() -> None:
    """An event from a source the hub does not know is refused without any notice."""
    event = status_event("stranger-agency", uid("ref"), ReferralStatus.ACCEPTED)

    decision = route(event)

    assert decision.refusal is not None
    assert decision.notices == ()


# -- consent -----------------------------------------------------------------------------


def _blocking_consents() -> dict[str, tuple[ConsentGrantedV1 | None, str, FailureReason]]:
    hour = timedelta(hours=1)
    return {
        "missing": (None, "active", FailureReason.CONSENT_MISSING),
        "withdrawn": (court_consent(), "withdrawn", FailureReason.CONSENT_WITHDRAWN),
        "expired": (
            court_consent(valid_from=NOW - 3 * hour, valid_until=NOW - hour),
            "active",
            FailureReason.CONSENT_EXPIRED,
        ),
        "not-yet-valid": (
            court_consent(valid_from=NOW + hour, valid_until=NOW + 3 * hour),
            "active",
            FailureReason.CONSENT_SCOPE,
        ),
        "recipient-not-named": (
            consent_payload(
                HOSPITAL.agency_id, [scope_for(SHELTER, (Purpose.JUSTICE,), COURT_GRANTED)]
            ),
            "active",
            FailureReason.CONSENT_SCOPE,
        ),
        "other-purpose": (
            consent_payload(HOSPITAL.agency_id, [scope_for(COURT, (Purpose.CARE,), COURT_GRANTED)]),
            "active",
            FailureReason.CONSENT_SCOPE,
        ),
    }


@pytest.mark.parametrize("case", list(_blocking_consents()))
def test_consent_that_does_not_cover_the_recipient_blocks_with_a_notice(case: str) -> None:
    """Missing, withdrawn, expired or out-of-scope consent: nothing is sent, the sender hears."""
    consent, status, reason = _blocking_consents()[case]
    basis = consent or court_consent()
    event = referral_event(HOSPITAL.agency_id, COURT.agency_id, basis)

    decision = route(event, consent=record(consent, status=status) if consent else None)

    assert decision.deliveries == ()
    assert [(b.recipient, b.reason) for b in decision.blocked] == [(COURT.agency_id, reason)]
    assert [n.recipient for n in decision.notices] == [HOSPITAL.agency_id]
    notice = notice_data(decision)
    assert notice.reason is reason
    assert notice.recipient == COURT.agency_id
    assert notice.failed_event_id == event.id
    # Her data never travels in the notice.
    assert set(notice.model_dump(exclude_none=True)) <= {
        "referral_id",
        "failed_event_id",
        "failed_event_type",
        "recipient",
        "reason",
        "detail",
        "attempts",
        "failed_at",
    }
    # The referral itself is still on record, blocked.
    assert decision.new_referral is not None


def test_a_consent_of_another_subject_never_covers_her_referral() -> None:
    """A consent with the referral's consent id but another survivor's subject id is ignored."""
    consent = court_consent()
    event = referral_event(HOSPITAL.agency_id, COURT.agency_id, consent)
    someone_else = replace(record(consent), subject_id="sub_" + "0" * 32)

    decision = route(event, consent=someone_else)

    assert decision.deliveries == ()
    assert [b.reason for b in decision.blocked] == [FailureReason.CONSENT_MISSING]


def test_a_consent_under_another_id_never_covers_her_referral() -> None:
    """A consent of the same survivor but not the one the referral names is ignored."""
    consent = court_consent()
    other = court_consent(subject=consent.subject_id)
    event = referral_event(HOSPITAL.agency_id, COURT.agency_id, consent)

    decision = route(event, consent=record(other))

    assert decision.deliveries == ()
    assert [b.reason for b in decision.blocked] == [FailureReason.CONSENT_MISSING]


def test_redaction_removes_exactly_the_categories_not_granted() -> None:
    """The court gets contact, narrative, risk, medical and evidence; never identity or legal."""
    event, consent = referral_to_court()

    (delivery,) = route(event, consent=record(consent)).deliveries

    data = delivery.event.data
    assert "identity" not in data
    assert "legal" not in data
    for name in ("reason", "narrative", "contact", "safety_risk", "medical", "evidence"):
        assert data[name] == event.data[name]
    routing = {n for n, c in field_categories(ReferralRequestedV1).items() if c is None}
    assert {n for n in routing if n in event.data} <= set(data)
    assert delivery.withheld == (DataCategory.IDENTITY, DataCategory.LEGAL)
    assert set(delivery.disclosed) == set(COURT_GRANTED)
    assert set(delivery.withheld_fields) == {"identity", "legal"}
    # The redacted copy still validates against the same contract.
    REGISTRY.parse(delivery.event)


def test_a_kind_wide_scope_grants_only_its_categories() -> None:
    """A shelter named by kind gets contact and safety risk for protection, nothing more."""
    consent = court_consent()
    event = referral_event(
        HOSPITAL.agency_id, SHELTER.agency_id, consent, service=ServiceCode.EMERGENCY_SHELTER
    )

    (delivery,) = route(event, consent=record(consent)).deliveries

    categorised = {n for n, c in field_categories(ReferralRequestedV1).items() if c is not None}
    assert categorised & set(delivery.event.data) == {"contact", "safety_risk"}


def test_status_notes_are_withheld_from_a_recipient_without_narrative() -> None:
    """A status note is narrative: a recipient not granted narrative gets the status without it."""
    consent = consent_payload(
        HOSPITAL.agency_id, [scope_for(COURT, (Purpose.JUSTICE,), (DataCategory.CONTACT,))]
    )
    referral = referral_event(HOSPITAL.agency_id, COURT.agency_id, consent)
    event = status_event(HOSPITAL.agency_id, referral.subject, ReferralStatus.CANCELLED)

    (delivery,) = route(event, referral=state_of(referral), consent=record(consent)).deliveries

    assert delivery.event.data == {"referral_id": referral.subject, "status": "cancelled"}
    assert delivery.withheld == (DataCategory.NARRATIVE,)


# -- versions ----------------------------------------------------------------------------


def test_a_recipient_reading_v1_receives_v1_of_a_v2_referral() -> None:
    """An agency accepting only referral.requested v1 gets a v2 referral cast down to v1."""
    reader = replace(COURT, accepts={"referral.requested": (1,)})
    consent = court_consent()
    event = referral_event(
        HOSPITAL.agency_id,
        COURT.agency_id,
        consent,
        version=2,
        additional_services=(ServiceCode.LEGAL_AID,),
    )
    assert event.version == 2

    (delivery,) = route(
        event, consent=record(consent), agencies={**AGENCIES, COURT.agency_id: reader}
    ).deliveries

    assert delivery.event.version == 1
    assert "additional_services" not in delivery.event.data
    assert isinstance(REGISTRY.parse(delivery.event), ReferralRequestedV1)
    assert "identity" not in delivery.event.data


def test_a_recipient_reading_v2_receives_v2_of_a_v1_referral() -> None:
    """An agency accepting only v2 gets a v1 referral cast up, with no additional services."""
    reader = replace(COURT, accepts={"referral.requested": (2,)})
    event, consent = referral_to_court()

    (delivery,) = route(
        event, consent=record(consent), agencies={**AGENCIES, COURT.agency_id: reader}
    ).deliveries

    assert delivery.event.version == 2
    assert delivery.event.data["additional_services"] == []


def test_a_recipient_naming_no_versions_gets_the_version_sent() -> None:
    """Without an ``accepts`` entry the copy keeps the sender's version."""
    consent = court_consent()
    event = referral_event(HOSPITAL.agency_id, COURT.agency_id, consent, version=2)

    (delivery,) = route(event, consent=record(consent)).deliveries

    assert delivery.event.version == 2


# -- notices -----------------------------------------------------------------------------


def test_notice_ids_are_deterministic() -> None:
    """Deciding the same event twice yields the same notice ids, so a retry repeats them."""
    consent = court_consent()
    event = referral_event(HOSPITAL.agency_id, COURT.agency_id, consent)
    refused = status_event(SHELTER.agency_id, uid("ref"), ReferralStatus.ACCEPTED)

    first, second = route(event), route(event)
    refused_first, refused_second = route(refused), route(refused)

    assert first.notices[0].event.id == second.notices[0].event.id
    assert first.notices[0].event.id == notice_id(event.id, "failed", COURT.agency_id)
    assert refused_first.notices[0].event.id == refused_second.notices[0].event.id
    assert refused_first.notices[0].event.id == notice_id(refused.id, "failed", "refused")
    assert (
        len({notice_id(event.id, "a"), notice_id(event.id, "b"), notice_id(refused.id, "a")}) == 3
    )


# -- properties --------------------------------------------------------------------------

_CATEGORISED = [n for n, c in field_categories(ReferralRequestedV1).items() if c is not None]
_RECIPIENTS: list[str | AgencyKind] = [*AGENCIES, *AgencyKind]


@st.composite
def consent_scopes(draw: st.DrawFn) -> tuple[ConsentScope, ...]:
    entries = []
    for _ in range(draw(st.integers(1, 4))):
        recipient = draw(st.sampled_from(_RECIPIENTS))
        purposes = tuple(draw(st.sets(st.sampled_from(list(Purpose)), min_size=1)))
        categories = tuple(draw(st.sets(st.sampled_from(list(DataCategory)))))
        if isinstance(recipient, AgencyKind):
            entries.append(
                ConsentScope(recipient_kind=recipient, purposes=purposes, categories=categories)
            )
        else:
            entries.append(
                ConsentScope(recipient_agency=recipient, purposes=purposes, categories=categories)
            )
    return tuple(entries)


def granted(consent: ConsentGrantedV1, recipient: AgencyView, purpose: Purpose) -> set[str]:
    """The categories an independent reading of the consent grants ``recipient``."""
    if recipient.agency_id == consent.recorded_by:
        return {c.value for c in DataCategory}
    return {
        category.value
        for entry in consent.scope
        if entry.recipient_agency == recipient.agency_id or entry.recipient_kind == recipient.kind
        if purpose in entry.purposes
        for category in entry.categories
    }


@st.composite
def routed_events(draw: st.DrawFn) -> tuple[CloudEvent, ReferralState | None, ConsentGrantedV1]:
    """A referral, a status change or an outcome under a random consent."""
    ids = sorted(AGENCIES)
    sender = draw(st.sampled_from(ids))
    recipient = draw(st.sampled_from([i for i in ids if i != sender]))
    consent = consent_payload(draw(st.sampled_from(ids)), draw(consent_scopes()))
    dropped = draw(st.sets(st.sampled_from(_CATEGORISED)))
    referral = referral_event(
        sender,
        recipient,
        consent,
        service=draw(st.sampled_from(list(ServiceCode))),
        **dict.fromkeys(dropped),
    )
    kind = draw(
        st.sampled_from(["requested", "status-by-recipient", "status-by-sender", "outcome"])
    )
    if kind == "requested":
        return referral, None, consent
    state = state_of(referral, ReferralStatus.IN_PROGRESS)
    if kind == "status-by-recipient":
        event = status_event(recipient, referral.subject, ReferralStatus.COMPLETED)
    elif kind == "status-by-sender":
        event = status_event(sender, referral.subject, ReferralStatus.CANCELLED)
    else:
        event = outcome_event(recipient, referral.subject)
    return event, state, consent


@settings(max_examples=150, deadline=None)
@given(case=routed_events())
def test_no_delivery_carries_a_category_not_granted_to_its_recipient(
    case: tuple[CloudEvent, ReferralState | None, ConsentGrantedV1],
) -> None:
    """For any consent and any referral event, each copy holds only the granted categories."""
    event, state, consent = case
    payload = REGISTRY.parse(event)
    purpose = service_definition(
        state.service if state else payload.service  # type: ignore[attr-defined]
    ).purpose

    decision = route(event, referral=state, consent=record(consent))

    categories = field_categories(type(payload))
    for delivery in decision.deliveries:
        recipient = AGENCIES[delivery.recipient]
        allowed = granted(consent, recipient, purpose)
        for name in delivery.event.data:
            category = categories[name]
            assert category is None or category.value in allowed, (name, delivery.recipient)
        assert {c.value for c in delivery.disclosed} <= allowed
        if recipient.agency_id == consent.recorded_by:
            # The agency that recorded her consent gets everything.
            assert delivery.event.data == event.data
    for blocked in decision.blocked:
        assert blocked.recipient not in {d.recipient for d in decision.deliveries}


@settings(max_examples=60, deadline=None)
@given(scopes=consent_scopes(), dropped=st.sets(st.sampled_from(_CATEGORISED)))
def test_the_agency_that_recorded_the_consent_gets_everything(
    scopes: tuple[ConsentScope, ...], dropped: set[str]
) -> None:
    """Whatever the scope, a referral to the recording agency reaches it whole."""
    onward = ConsentScopeV2(
        recipient_agency=HOSPITAL.agency_id, purposes=(Purpose.CARE,), may_refer_onward=True
    )
    consent = consent_payload(COURT.agency_id, (*scopes, onward))
    event = referral_event(HOSPITAL.agency_id, COURT.agency_id, consent, **dict.fromkeys(dropped))

    (delivery,) = route(event, consent=record(consent)).deliveries

    assert delivery.event.data == event.data
    assert delivery.withheld == ()


def test_the_example_referral_uses_every_category() -> None:
    """The property tests above are meaningful: the example fills every data category v1 has."""
    example = EXAMPLES[("referral.requested", 1)]
    present = {
        category
        for name, category in field_categories(type(example)).items()
        if category is not None and getattr(example, name) is not None
    }
    # The incident is classified from v3 on; v1 has every other category.
    assert present == set(DataCategory) - {DataCategory.INCIDENT}
