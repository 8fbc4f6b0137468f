"""Accepting an event: validate, authorise, and commit it to the outbox.

"Accepted" means durable: the caller answers 202 only after this returns. An
event is its ``(source, id)``, as CloudEvents defines it: the same source and
id accepted twice is one event, with other content a conflict; another
agency's event with the same id is another event, and its sender never learns
of the first. Consent events also update the consent registry in the same
transaction, so a referral accepted a moment later already finds its consent.
Events arriving together are accepted together (:func:`accept_many`), with the
same answers, rows and audit entries as one after another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection

from hub.audit import AuditAction, AuditRecorder, EntryDraft, SubjectErased
from hub.audit.erasure import largest_sealable
from hub.broker.topics import INGRESS
from hub.contracts import MAX_EVENT_BYTES, CloudEvent, ContractRegistry, to_kafka
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentWithdrawnV1,
    DeliveryFailedV1,
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    EventPayload,
    LegalOrderDeclinedV1,
    ReferralOutcomeReportedV1,
    ReferralOverdueV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
)
from hub.contracts.status import Party, check_mover
from hub.errors import (
    AccessDenied,
    Conflict,
    HubError,
    InvalidEnvelope,
    InvalidPayload,
    StoreError,
)
from hub.services.envelopes import event_key, namespace_of
from hub.services.vault import seal_many, subject_for, unseal
from hub.store import EventKey, Store, consents, outbox, referral_subjects, referrals
from hub.store.consents import ConsentRow
from hub.store.referral_subjects import Parties

__all__ = [
    "Acceptance",
    "Outcome",
    "Refused",
    "Submission",
    "accept_all",
    "accept_event",
    "accept_in",
    "accept_many",
    "record_refusal",
    "vet",
]

_HUB_ONLY_EXTENSION = "overrideid"

#: The largest Kafka record (key, value and headers) accepted, as the event is
#: in clear. Sealed under the subject's key, its value grows by a third, and it
#: must still be below the producer's and the broker's 1 MiB limit by a margin
#: for what the hub adds on the way (consent and override headers, an up-cast,
#: a dead-letter reason): an event the relay could not publish would hold back
#: every event after it.
MAX_RECORD_BYTES = largest_sealable(MAX_EVENT_BYTES - 4096)


@dataclass(frozen=True)
class Acceptance:
    event_id: str
    event_type: str
    version: int
    created: bool


@dataclass(frozen=True)
class Submission:
    """A vetted event (see :func:`vet`) and the agency that sent it."""

    event: CloudEvent
    payload: EventPayload
    sender: str


#: What a submission comes to: accepted, or the refusal to answer it with.
Outcome: TypeAlias = Acceptance | HubError


def accept_event(
    store: Store,
    registry: ContractRegistry,
    event: CloudEvent,
    *,
    sender: str,
    now: datetime,
    audit: AuditRecorder | None = None,
) -> Acceptance:
    """Commit ``event`` from ``sender`` to the outbox, or raise why it cannot be.

    With ``audit``, the acceptance is recorded in the same transaction.
    """
    payload = vet(registry, event, sender)
    with store.transaction() as conn:
        return accept_in(conn, event, payload, sender=sender, now=now, audit=audit)


def vet(registry: ContractRegistry, event: CloudEvent, sender: str) -> EventPayload:
    """The checks that need no store: contract, sender, hub-only content, size."""
    payload = registry.parse(event)
    if event.source != sender:
        raise AccessDenied(f"an agency may only send events whose source is itself ({sender})")
    if isinstance(payload, DeliveryFailedV1 | ReferralOverdueV1):
        raise AccessDenied(f"{payload.event_type} events are issued by the hub only")
    _check_namespace(payload, sender)
    if _HUB_ONLY_EXTENSION in event.extensions:
        # It marks a compelled disclosure, which withdrawal cannot stop: the hub
        # sets it on its own copies, an agency may not claim it.
        raise AccessDenied(f"the {_HUB_ONLY_EXTENSION} extension is set by the hub only")
    _check_record_size(event)
    return payload


def accept_in(
    conn: Connection,
    event: CloudEvent,
    payload: EventPayload,
    *,
    sender: str,
    now: datetime,
    audit: AuditRecorder | None,
) -> Acceptance:
    """Accept a vetted event inside the caller's transaction, or raise why it cannot be."""
    (outcome,) = accept_many(conn, [Submission(event, payload, sender)], now=now, audit=audit)
    if isinstance(outcome, HubError):
        raise outcome
    return outcome


def accept_many(
    conn: Connection,
    submissions: Sequence[Submission],
    *,
    now: datetime,
    audit: AuditRecorder | None,
) -> list[Outcome]:
    """Accept vetted events inside the caller's transaction, answering each on its own.

    The answers, rows and audit entries are those of accepting the events one
    after another, and a refused event leaves nothing behind; but the events
    of a run (see :func:`_runs`) share their statements, a few for the run
    rather than a few for each event. A store error raised for the whole run
    sends its events through one at a time, so that only the one at fault
    hears it; raised for one event alone, it is that event's answer.
    """
    outcomes: list[Outcome] = []
    for run in _runs(submissions):
        outcomes.extend(_accept_run(conn, run, now, audit))
    return outcomes


class Refused(Exception):
    """One event of a set accepted together was refused: ``error`` says why, ``event`` which."""

    def __init__(self, error: HubError, event: CloudEvent) -> None:
        super().__init__(str(error))
        self.error = error
        self.event = event


def accept_all(
    store: Store,
    submissions: Sequence[Submission],
    *,
    now: datetime,
    audit: AuditRecorder | None,
) -> list[Acceptance]:
    """Accept vetted events in one transaction, all of them or none.

    A FHIR transaction is all or nothing: when any event is refused the
    transaction is rolled back, so nothing of the others (outbox rows, consent
    changes, audit entries) remains, and :class:`Refused` names the one at fault.
    """
    with store.transaction() as conn:
        outcomes = accept_many(conn, submissions, now=now, audit=audit)
        for submission, outcome in zip(submissions, outcomes, strict=True):
            if isinstance(outcome, HubError):
                # Raised inside the transaction, so the store rolls all of it back.
                raise Refused(outcome, submission.event)
    return [outcome for outcome in outcomes if isinstance(outcome, Acceptance)]


def _runs(submissions: Sequence[Submission]) -> Iterator[list[Submission]]:
    """The submissions in order, cut wherever one must see what an earlier one wrote.

    A consent change runs alone: its checks read the consents recorded before
    it. An event starts a new run after one that carries its id (it is then a
    retry or a conflict) or requests its referral (it is sealed under the
    subject that request links). So no event of a run reads what another of
    the run writes, and the run can be read, sealed and written all at once.
    """
    run: list[Submission] = []
    event_keys: set[EventKey] = set()
    referral_ids: set[str] = set()
    for submission in submissions:
        event, payload = submission.event, submission.payload
        alone = _changes_consent(payload)
        if run and (alone or event_key(event) in event_keys or event.subject in referral_ids):
            yield run
            run, event_keys, referral_ids = [], set(), set()
        run.append(submission)
        event_keys.add(event_key(event))
        if isinstance(payload, ReferralRequestedV1 | ReferralRequestedV2):
            referral_ids.add(payload.referral_id)
        if alone:
            yield run
            run, event_keys, referral_ids = [], set(), set()
    if run:
        yield run


class _Raced(Exception):
    """A concurrent transaction queued some of the run's events after the run looked."""


def _accept_run(
    conn: Connection, run: Sequence[Submission], now: datetime, audit: AuditRecorder | None
) -> list[Outcome]:
    # A race leaves one more of the run's ids stored (the losing insert waited
    # for the winner to commit), so a run is taken again at most once per id.
    for _ in range(len(run) + 1):
        savepoint = conn.begin_nested()
        try:
            outcomes = _accept_together(conn, run, now, audit)
        except _Raced:
            savepoint.rollback()
            continue
        except HubError as exc:
            savepoint.rollback()
            if len(run) == 1:
                return [exc]
            # A statement shared by the run failed: take its events one at a
            # time, so that only the one at fault is refused.
            return [outcome for one in run for outcome in _accept_run(conn, [one], now, audit)]
        savepoint.commit()
        return outcomes
    raise StoreError("other transactions kept queueing the same event ids; try again")


def _accept_together(
    conn: Connection, run: Sequence[Submission], now: datetime, audit: AuditRecorder | None
) -> list[Outcome]:
    """Answer a run: ids already stored as retries or conflicts, the others accepted anew."""
    stored = outbox.get_many(conn, [event_key(submission.event) for submission in run])
    outcomes: dict[int, Outcome] = {}
    new: list[int] = []
    for index, submission in enumerate(run):
        row = stored.get(event_key(submission.event))
        if row is None:
            new.append(index)
        else:
            outcomes[index] = _answer_again(submission.event, unseal(conn, row.envelope))
    accepted = _accept_new(conn, [run[index] for index in new], now, audit)
    outcomes.update(zip(new, accepted, strict=True))
    return [outcomes[index] for index in range(len(run))]


def _answer_again(event: CloudEvent, stored: Mapping[str, Any] | None) -> Outcome:
    """The answer to an event its source sent before: a retry if it is the same event."""
    if stored != event.structured():
        return Conflict(f"event {event.id} was already accepted with other content")
    return _acceptance(event, created=False)


def _acceptance(event: CloudEvent, *, created: bool) -> Acceptance:
    return Acceptance(event.id, event.type, event.version, created=created)


@dataclass
class _New:
    """An event whose id was not stored, as the steps of accepting it fill it in."""

    submission: Submission
    change: ConsentRow | None = None
    refusal: HubError | None = None

    def outcome(self) -> Outcome:
        if self.refusal is not None:
            return self.refusal
        return _acceptance(self.submission.event, created=True)


def _accept_new(
    conn: Connection,
    submissions: Sequence[Submission],
    now: datetime,
    audit: AuditRecorder | None,
) -> list[Outcome]:
    """Check, seal and store events whose ids were not stored; raises _Raced if one is now."""
    new = [_New(submission) for submission in submissions]
    for item in new:
        try:
            item.change = _consent_change(conn, item.submission, now)
        except HubError as exc:
            item.refusal = exc
    _authorise(conn, [item for item in new if item.refusal is None])
    sealed = _seal(conn, [item for item in new if item.refusal is None], now)
    accepted = [item for item, _ in sealed]
    _write_state(conn, accepted, now)
    _queue(conn, sealed, now)
    if audit is not None:
        audit.record_many(conn, [_acceptance_entry(item.submission, now) for item in accepted])
    return [item.outcome() for item in new]


def _seal(
    conn: Connection, items: Sequence[_New], now: datetime
) -> list[tuple[_New, dict[str, Any]]]:
    """Each event sealed under its subject's key; an erased subject's is refused instead."""
    envelopes = seal_many(conn, [item.submission.event for item in items], now)
    sealed: list[tuple[_New, dict[str, Any]]] = []
    for item, envelope in zip(items, envelopes, strict=True):
        if envelope is None:
            item.refusal = SubjectErased(subject_for(conn, item.submission.event))
        else:
            sealed.append((item, envelope))
    return sealed


def _write_state(conn: Connection, accepted: Sequence[_New], now: datetime) -> None:
    """Record the consent each accepted event changes and the subject each referral is about."""
    links: list[tuple[str, str]] = []
    parties: dict[str, Parties] = {}
    for item in accepted:
        event, payload = item.submission.event, item.submission.payload
        if item.change is not None:
            consents.record_consent(conn, item.change, event_id=event.id, at=now)
        if isinstance(payload, ReferralRequestedV1 | ReferralRequestedV2):
            links.append((payload.referral_id, payload.subject_id))
            parties[payload.referral_id] = Parties(payload.from_agency, payload.to_agency)
    referral_subjects.link_many(conn, links, now, parties)


def _authorise(conn: Connection, items: Sequence[_New]) -> None:
    """Refuse each event its sender may not send about its referral, as 403 with the rule.

    A referral no one requested is refused the same way as one the sender has
    no part in, so the answer tells a stranger nothing of which referrals exist.
    One accepted before its parties were recorded, and not yet projected, is
    left to the router, which applies the same rules and tells the sender.
    """
    concerned = [item for item in items if _party_rule(item.submission.payload)]
    if not concerned:
        return
    subjects = [item.submission.event.subject for item in concerned]
    known = referral_subjects.parties_of(conn, subjects)
    unsure = [subject for subject in subjects if known.get(subject) is None]
    for referral_id, row in referrals.get_referrals(conn, unsure).items():
        known[referral_id] = Parties(row.from_agency, row.to_agency)
    for item in concerned:
        payload, subject = item.submission.payload, item.submission.event.subject
        try:
            if isinstance(payload, ReferralRequestedV1 | ReferralRequestedV2):
                if payload.from_agency != item.submission.sender:
                    raise AccessDenied("from_agency must be the agency sending the referral")
            elif subject not in known:
                _check_party(item.submission, None)
            elif (parties := known[subject]) is not None:
                _check_party(item.submission, parties)
        except AccessDenied as exc:
            item.refusal = exc


def _party_rule(payload: EventPayload) -> bool:
    """Whether who may send the event depends on the sender's part in its referral."""
    return isinstance(
        payload,
        ReferralRequestedV1
        | ReferralRequestedV2
        | ReferralStatusChangedV1
        | ReferralOutcomeReportedV1
        | DisclosureCompelledV1
        | DisclosureCompelledV2
        | LegalOrderDeclinedV1,
    )


def _check_party(submission: Submission, parties: Parties | None) -> None:
    """The rules of :mod:`hub.contracts.status` and of disclosure without consent.

    ``parties`` None is a referral no one requested: no sender is a party to it.
    """
    payload, sender = submission.payload, submission.sender
    referral = submission.event.subject
    if isinstance(payload, DisclosureCompelledV1 | DisclosureCompelledV2 | LegalOrderDeclinedV1):
        # Only the data's holder may disclose it without consent: the agency that
        # put it into the hub, the referrer. Anyone else needs a legal order to it.
        if parties is None or sender != parties.referrer:
            raise AccessDenied(
                f"only the referrer of {referral}, which holds its data, may disclose it "
                "without consent or answer a legal order for it"
            )
        return
    if parties is not None and sender == parties.receiver:
        party = Party.RECEIVER
    elif parties is not None and sender == parties.referrer:
        party = Party.REFERRER
    else:
        raise AccessDenied(f"{sender} is not a party to referral {referral}")
    if isinstance(payload, ReferralOutcomeReportedV1):
        if party is not Party.RECEIVER:
            raise AccessDenied("only the receiving agency reports a referral's outcome")
        return
    if isinstance(payload, ReferralStatusChangedV1):
        check_mover(party, payload.status)


def _queue(conn: Connection, sealed: Sequence[tuple[_New, dict[str, Any]]], now: datetime) -> None:
    """Put the sealed events in the outbox; raises _Raced if one of their ids is there now."""
    events = [(item.submission.event, envelope) for item, envelope in sealed]
    rows = [(event_key(event), event.subject, envelope) for event, envelope in events]
    if len(outbox.add_many(conn, rows, topic=INGRESS, at=now)) < len(rows):
        # PostgreSQL does not serialise the look before with a concurrent
        # request's insert: the run starts again, and answers those ids as stored.
        raise _Raced


def _acceptance_entry(submission: Submission, now: datetime) -> EntryDraft:
    event, payload, sender = submission.event, submission.payload, submission.sender
    if isinstance(payload, ConsentGrantedV1 | ConsentWithdrawnV1):
        action = (
            AuditAction.CONSENT_GRANTED
            if isinstance(payload, ConsentGrantedV1)
            else AuditAction.CONSENT_WITHDRAWN
        )
        return EntryDraft(
            action,
            sender,
            now,
            event_id=event.id,
            consent_id=payload.consent_id,
            details={"event_type": event.type},
        )
    return EntryDraft(
        AuditAction.ACCEPTED,
        sender,
        now,
        event_id=event.id,
        referral_id=event.subject,
        consent_id=event.consentid or getattr(payload, "consent_id", None),
        details={"event_type": event.type, "version": event.version},
    )


def _check_namespace(payload: EventPayload, sender: str) -> None:
    """A new referral or consent id of the form ``<agency>:<local>`` is that agency's to create.

    The answer depends on the id's form alone, never on whether the id exists,
    so it tells a prober nothing; and no agency can take an id another will use
    (the ids the FHIR adapter derives are all of this form).
    """
    if isinstance(payload, ReferralRequestedV1 | ReferralRequestedV2):
        field, value = "data.referral_id", payload.referral_id
    elif isinstance(payload, ConsentGrantedV1):
        field, value = "data.consent_id", payload.consent_id
    else:
        return
    owner = namespace_of(value)
    if owner is not None and owner != sender:
        raise AccessDenied(
            f"{field}: ids beginning with '{owner}:' belong to agency {owner}; "
            f"{sender} names its own ids '{sender}:...' or without an agency prefix"
        )


def _check_record_size(event: CloudEvent) -> None:
    record = to_kafka(event)
    size = len(record.key) + len(record.value) + sum(len(k) + len(v) for k, v in record.headers)
    if size > MAX_RECORD_BYTES:
        reason = f"the event is {size} bytes on the broker; the limit is {MAX_RECORD_BYTES}"
        raise InvalidEnvelope([("(root)", reason)])


def _changes_consent(payload: EventPayload) -> bool:
    return isinstance(payload, ConsentGrantedV1 | ConsentWithdrawnV1)


def _consent_change(conn: Connection, submission: Submission, now: datetime) -> ConsentRow | None:
    """The consent state the event records, if it is a consent change; raises why it may not."""
    payload = submission.payload
    if isinstance(payload, ConsentGrantedV1):
        return _grant(conn, payload, submission.event, submission.sender, now)
    if isinstance(payload, ConsentWithdrawnV1):
        return _withdrawal(conn, payload, submission.event, submission.sender, now)
    return None


def _grant(
    conn: Connection, payload: ConsentGrantedV1, event: CloudEvent, sender: str, now: datetime
) -> ConsentRow:
    if payload.recorded_by != sender:
        raise AccessDenied("a consent is recorded only by the agency that records it")
    current = consents.get_consent(conn, payload.consent_id)
    if current is not None and (
        current.subject_id != payload.subject_id or current.recorded_by != payload.recorded_by
    ):
        raise Conflict(f"consent {payload.consent_id} belongs to another subject or agency")
    scope = [entry.model_dump(mode="json", exclude_none=True) for entry in payload.scope]
    return ConsentRow(
        consent_id=payload.consent_id,
        subject_id=payload.subject_id,
        recorded_by=payload.recorded_by,
        granted_by=payload.granted_by.value,
        status="active",
        scope=scope,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
        updated_at=now,
        last_event_id=event.id,
    )


def _withdrawal(
    conn: Connection, payload: ConsentWithdrawnV1, event: CloudEvent, sender: str, now: datetime
) -> ConsentRow:
    current = consents.get_consent(conn, payload.consent_id)
    if current is None:
        raise InvalidPayload([("data.consent_id", f"no consent {payload.consent_id} is on record")])
    if current.recorded_by != sender:
        raise AccessDenied("a consent is withdrawn only through the agency that recorded it")
    if current.subject_id != payload.subject_id:
        raise InvalidPayload([("data.subject_id", "differs from the consent's subject")])
    return ConsentRow(
        consent_id=current.consent_id,
        subject_id=current.subject_id,
        recorded_by=current.recorded_by,
        granted_by=current.granted_by,
        status="withdrawn",
        scope=current.scope,
        valid_from=current.valid_from,
        valid_until=current.valid_until,
        updated_at=now,
        last_event_id=event.id,
    )


def record_refusal(
    store: Store,
    audit: AuditRecorder,
    reason: str,
    *,
    event: CloudEvent | None,
    sender: str,
    now: datetime,
) -> None:
    """Record a refused submission in the hub's own chain, with its reason code.

    The refused content is not trusted, so it names no referral: only the
    sender, the event id and type when they could be read, and the reason code
    (``hub.api.answers`` gives it).
    """
    details: dict[str, object] = {"reason": reason}
    if event is not None:
        details["event_type"] = event.type[:200]
    with store.transaction() as conn:
        audit.record(
            conn,
            action=AuditAction.REFUSED,
            actor=sender,
            at=now,
            event_id=event.id if event is not None else None,
            details=details,
        )
