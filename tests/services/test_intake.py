"""Accepting events together: each answered, stored and audited as if it came alone."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection

from hub.audit import AuditRecorder, SubjectErased, erase_subject
from hub.contracts import AgencyKind, CloudEvent, ReferralStatus, default_registry, new_event
from hub.contracts.events import ConsentGrantedV1
from hub.errors import AccessDenied, Conflict, InvalidPayload, StoreError
from hub.services.intake import Acceptance, Outcome, Submission, accept_in, accept_many, vet
from hub.services.vault import unseal
from hub.store import Store, consents, outbox, referral_subjects
from hub.store import audit as audit_store
from tests.backends import store, store_url
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    referral_event,
    scope,
    status_event,
    withdrawal_event,
)

__all__ = ["store", "store_url"]

REGISTRY = default_registry()
HOSPITAL = agency(AgencyKind.HOSPITAL)
COURT = agency(AgencyKind.COURT)
NOW = datetime.now(UTC)

#: Entries the tests set up themselves, not the intake's.
_SETUP_ACTIONS = {"erased", "checkpoint"}


@pytest.fixture
def audit() -> AuditRecorder:
    return AuditRecorder(signer=None, checkpoint_every=10**9)


def submission(event: CloudEvent) -> Submission:
    return Submission(event, vet(REGISTRY, event, event.source), event.source)


def accept(store: Store, events: Sequence[CloudEvent], audit: AuditRecorder) -> list[Outcome]:
    with store.transaction() as conn:
        return accept_many(conn, [submission(e) for e in events], now=NOW, audit=audit)


def answers(outcomes: Sequence[Outcome]) -> list[object]:
    """Each outcome as a client hears it: created or not, or the refusal's kind."""
    return [o.created if isinstance(o, Acceptance) else type(o) for o in outcomes]


def a_consent(subject: str | None = None) -> ConsentGrantedV1:
    return consent_payload(HOSPITAL, [scope(COURT)], subject=subject)


def a_referral(consent: ConsentGrantedV1 | None = None) -> CloudEvent:
    return referral_event(HOSPITAL, COURT, consent or a_consent())


def erased_consent(store: Store, audit: AuditRecorder) -> ConsentGrantedV1:
    """A consent whose subject has been erased."""
    consent = a_consent()
    with store.transaction() as conn:
        erase_subject(conn, audit, consent.subject_id, "operator", NOW)
    return consent


def stored(store: Store, event: CloudEvent) -> dict[str, Any] | None:
    with store.transaction() as conn:
        row = outbox.get(conn, event.source, event.id)
        return unseal(conn, row.envelope) if row is not None else None


def sealed_for(store: Store, event: CloudEvent) -> str:
    """The subject whose key the stored event is sealed under."""
    with store.transaction() as conn:
        row = outbox.get(conn, event.source, event.id)
    assert row is not None
    subject: str = row.envelope["data"]["subject"]
    return subject


def subject_of(store: Store, referral_id: str) -> str | None:
    with store.transaction() as conn:
        return referral_subjects.subject_of(conn, referral_id)


def entries(store: Store) -> list[tuple[object, ...]]:
    """The intake's audit entries without ids, hashes and times, in a stable order."""
    with store.transaction() as conn:
        rows = audit_store.entries(conn)
    return in_order(
        (r.action, r.actor, r.event_id, r.referral_id, r.consent_id, r.details)
        for r in rows
        if r.action not in _SETUP_ACTIONS
    )


def in_order(found: Iterable[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(found, key=repr)


def chain_events(store: Store, referral_id: str) -> list[str | None]:
    """The event ids of a referral's audit chain, in chain order."""
    with store.transaction() as conn:
        return [r.event_id for r in audit_store.entries(conn, chain_id=f"referral:{referral_id}")]


def accepted_entry(event: CloudEvent) -> tuple[object, ...]:
    details = {"event_type": event.type, "version": event.version}
    return ("accepted", event.source, event.id, event.subject, event.consentid, details)


def consent_entry(event: CloudEvent, action: str) -> tuple[object, ...]:
    return (action, event.source, event.id, None, event.subject, {"event_type": event.type})


def test_a_mixed_group_gets_the_answers_each_event_would_get_alone(
    store: Store, audit: AuditRecorder
) -> None:
    """New, retried, conflicting, erased and consent events in one group: each its own answer."""
    consent = a_consent()
    earlier = a_referral(consent)
    accept(store, [consent_event(consent), earlier], audit)
    gone = a_referral(erased_consent(store, audit))
    fresh = a_referral(consent)
    clash = earlier.with_data({**earlier.data, "priority": "emergency"})
    granted = a_consent()
    grant, withdrawal = consent_event(granted), withdrawal_event(granted)
    cited = a_referral(granted)
    update = status_event(COURT, fresh.subject, ReferralStatus.ACCEPTED)
    before = entries(store)

    outcomes = accept(store, [fresh, earlier, clash, gone, grant, cited, withdrawal, update], audit)

    assert answers(outcomes) == [True, False, Conflict, SubjectErased, True, True, True, True]
    for event in (fresh, earlier, grant, cited, withdrawal, update):
        assert stored(store, event) == event.structured()
    assert stored(store, gone) is None
    with store.transaction() as conn:
        history = consents.consent_history(conn, granted.consent_id)
    assert [version.status for version in history] == ["active", "withdrawn"]
    assert entries(store) == in_order(
        [
            *before,
            accepted_entry(fresh),
            consent_entry(grant, "consent-granted"),
            accepted_entry(cited),
            consent_entry(withdrawal, "consent-withdrawn"),
            accepted_entry(update),
        ]
    )
    assert chain_events(store, fresh.subject) == [fresh.id, update.id]


def test_the_same_id_twice_in_a_group_is_a_retry_or_a_conflict(
    store: Store, audit: AuditRecorder
) -> None:
    """The second of two requests with one id hears what a later retry would hear."""
    event = a_referral()
    other = event.with_data({**event.data, "priority": "emergency"})

    outcomes = accept(store, [event, event.model_copy(), other], audit)

    assert answers(outcomes) == [True, False, Conflict]
    assert stored(store, event) == event.structured()
    assert entries(store) == [accepted_entry(event)]


def test_an_id_refused_in_a_group_is_taken_anew_when_it_comes_again(
    store: Store, audit: AuditRecorder
) -> None:
    """A refusal stores nothing, so the next event with its id is judged on its own."""
    gone = a_referral(erased_consent(store, audit))
    again = a_referral().model_copy(update={"id": gone.id})

    outcomes = accept(store, [gone, again], audit)

    assert answers(outcomes) == [SubjectErased, True]
    assert stored(store, gone) == again.structured()


def test_an_erased_subject_refuses_her_event_alone(store: Store, audit: AuditRecorder) -> None:
    """Her referral is refused with her subject id and leaves no trace; its neighbours pass."""
    erased = erased_consent(store, audit)
    first, gone, last = a_referral(), a_referral(erased), a_referral()

    outcomes = accept(store, [first, gone, last], audit)

    assert answers(outcomes) == [True, SubjectErased, True]
    refusal = outcomes[1]
    assert isinstance(refusal, SubjectErased)
    assert refusal.subject_id == erased.subject_id
    assert subject_of(store, gone.subject) is None
    assert entries(store) == in_order([accepted_entry(first), accepted_entry(last)])


def test_a_referral_requested_earlier_in_the_group_seals_its_later_events(
    store: Store, audit: AuditRecorder
) -> None:
    """A status change sent with its referral's request is sealed under her key."""
    consent = a_consent()
    request = a_referral(consent)
    update = status_event(COURT, request.subject, ReferralStatus.ACCEPTED)

    assert answers(accept(store, [request, update], audit)) == [True, True]
    assert sealed_for(store, update) == consent.subject_id


def test_consent_changes_in_a_group_see_the_ones_before_them(
    store: Store, audit: AuditRecorder
) -> None:
    """A withdrawal finds a grant sent just before it; refused consent changes record nothing."""
    granted = a_consent()
    unknown = a_consent()
    foreign = consent_payload(COURT, [scope(HOSPITAL)])
    erased = a_consent(subject=erased_consent(store, audit).subject_id)
    events = [
        consent_event(granted),
        withdrawal_event(granted),
        withdrawal_event(unknown),
        new_event(foreign, source=HOSPITAL.id),
        consent_event(erased),
    ]

    outcomes = accept(store, events, audit)

    assert answers(outcomes) == [True, True, InvalidPayload, AccessDenied, SubjectErased]
    with store.transaction() as conn:
        assert consents.get_consent(conn, foreign.consent_id) is None
        assert consents.get_consent(conn, erased.consent_id) is None
        current = consents.get_consent(conn, granted.consent_id)
    assert current is not None
    assert current.status == "withdrawn"


class _RacedGetMany:
    """``outbox.get_many`` as seen by a group racing another with the same ids: the first
    look finds nothing, because the other group has not committed yet."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = outbox.get_many

    def __call__(self, conn: Connection, event_ids: Sequence[str]) -> dict[str, Any]:
        self.calls += 1
        return {} if self.calls == 1 else self._real(conn, event_ids)


def test_a_group_that_loses_a_race_answers_the_lost_ids_as_stored(
    store: Store, audit: AuditRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids another transaction queued meanwhile are retries or conflicts; the rest are created."""
    winner, other = a_referral(), a_referral()
    accept(store, [winner, other], audit)
    clash = a_referral().model_copy(update={"id": other.id})
    bystander = a_referral()
    before = entries(store)
    monkeypatch.setattr(outbox, "get_many", _RacedGetMany())

    outcomes = accept(store, [winner, clash, bystander], audit)

    assert answers(outcomes) == [False, Conflict, True]
    monkeypatch.undo()
    assert stored(store, other) == other.structured()
    assert subject_of(store, clash.subject) is None
    assert entries(store) == in_order([*before, accepted_entry(bystander)])


def test_a_store_error_for_one_event_refuses_that_event_only(
    store: Store, audit: AuditRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement failing in the group's batch sends the events one by one: one is refused."""
    first, faulty, last = a_referral(), a_referral(), a_referral()
    link_many = referral_subjects.link_many

    def failing_link(
        conn: Connection,
        links: Sequence[tuple[str, str]],
        at: datetime,
        parties: Mapping[str, referral_subjects.Parties] | None = None,
    ) -> set[str]:
        if any(referral_id == faulty.subject for referral_id, _ in links):
            raise StoreError("the database refused the row")
        return link_many(conn, links, at, parties)

    monkeypatch.setattr(referral_subjects, "link_many", failing_link)

    outcomes = accept(store, [first, faulty, last], audit)

    assert answers(outcomes) == [True, StoreError, True]
    assert stored(store, faulty) is None
    assert entries(store) == in_order([accepted_entry(first), accepted_entry(last)])


def test_accept_in_raises_the_refusal_and_leaves_nothing(
    store: Store, audit: AuditRecorder
) -> None:
    """The one-event form raises what the group form answers; committing after it stores nothing."""
    gone = a_referral(erased_consent(store, audit))

    with store.transaction() as conn, pytest.raises(SubjectErased):
        accept_in(
            conn, gone, vet(REGISTRY, gone, HOSPITAL.id), sender=HOSPITAL.id, now=NOW, audit=audit
        )

    assert subject_of(store, gone.subject) is None
    assert stored(store, gone) is None


@pytest.fixture
def postgres_store(postgres_schema_url: str) -> Iterator[Store]:
    with Store.open(postgres_schema_url) as opened:
        yield opened


@pytest.mark.postgres
def test_concurrent_groups_sharing_an_id_on_postgresql(
    postgres_store: Store, audit: AuditRecorder
) -> None:
    """Two transactions queue one id at once: the later answers as a retry or conflict."""
    shared, first_only = a_referral(), a_referral()
    clash = a_referral().model_copy(update={"id": shared.id})
    second_only = a_referral()
    looked = threading.Event()
    answered: dict[str, list[Outcome]] = {}

    def first_group() -> None:
        with postgres_store.transaction() as conn:
            answered["first"] = accept_many(
                conn, [submission(shared), submission(first_only)], now=NOW, audit=audit
            )
            looked.set()
            # Hold the uncommitted rows while the second group runs into them.
            second.join(timeout=1.0)

    def second_group() -> None:
        looked.wait()
        with postgres_store.transaction() as conn:
            answered["second"] = accept_many(
                conn, [submission(clash), submission(second_only)], now=NOW, audit=audit
            )

    first, second = threading.Thread(target=first_group), threading.Thread(target=second_group)
    second.start()
    first.start()
    first.join()
    second.join()

    assert answers(answered["first"]) == [True, True]
    assert answers(answered["second"]) == [Conflict, True]
    assert stored(postgres_store, shared) == shared.structured()
    assert subject_of(postgres_store, clash.subject) is None
    assert entries(postgres_store) == in_order(
        accepted_entry(event) for event in (shared, first_only, second_only)
    )
