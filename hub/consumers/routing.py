"""The routing decision: a pure function of (event, referral state, consent, agencies).

Given one validated ingress event it says how the referral projection changes,
which agencies receive a copy (redacted to what consent grants each), which
deliveries consent blocks, and what the sender is told. It performs no I/O, so
every rule is testable without a broker or a database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.config import DisclosureSettings
from hub.consent import ConsentRecord, Recipient, may_refer_under, permit, redact
from hub.contracts import (
    AgencyKind,
    CloudEvent,
    DataCategory,
    Purpose,
    ReferralStatus,
    check_transition,
    new_event,
)
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentWithdrawnV1,
    DeliveryFailedV1,
    DisclosureCompelledV1,
    DisclosureCompelledV2,
    EventPayload,
    FailureReason,
    LegalOrderDeclinedV1,
    LegalOrderIssuedV1,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
)
from hub.contracts.status import Party, check_mover
from hub.contracts.vocabulary import ServiceCode, service
from hub.errors import AccessDenied, IllegalTransition

__all__ = [
    "AgencyView",
    "Blocked",
    "Decision",
    "Delivery",
    "LegalOrder",
    "ReferralState",
    "decide",
    "notice_id",
]

_NOTICE_NAMESPACE = uuid.UUID("6b1f0d4e-3c52-4a8e-9a57-2f1d8c0e7b31")


@dataclass(frozen=True)
class AgencyView:
    """What routing needs to know of an agency."""

    agency_id: str
    kind: AgencyKind
    accepts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def recipient(self) -> Recipient:
        return Recipient(self.agency_id, self.kind)


@dataclass(frozen=True)
class ReferralState:
    referral_id: str
    from_agency: str
    to_agency: str
    subject_id: str
    consent_id: str
    service: ServiceCode
    status: ReferralStatus

    @property
    def purpose(self) -> Purpose:
        return service(self.service).purpose


@dataclass(frozen=True)
class Delivery:
    """One copy of an event for one recipient, already redacted and cast."""

    recipient: str
    event: CloudEvent
    consent_id: str | None
    disclosed: tuple[DataCategory, ...] = ()
    withheld: tuple[DataCategory, ...] = ()
    withheld_fields: tuple[str, ...] = ()
    override: bool = False


@dataclass(frozen=True)
class Blocked:
    recipient: str
    reason: FailureReason
    detail: str


@dataclass(frozen=True)
class Decision:
    """What one ingress event does; ``refusal`` set means the event changed nothing."""

    new_referral: ReferralState | None = None
    new_status: ReferralStatus | None = None
    deliveries: tuple[Delivery, ...] = ()
    blocked: tuple[Blocked, ...] = ()
    notices: tuple[Delivery, ...] = ()
    refusal: tuple[FailureReason, str] | None = None


#: Casts an event to another version of its contract (the registry's ``cast``).
Caster = Callable[[CloudEvent, int], CloudEvent]

#: A legal order issued for a referral, as accepted: its envelope and payload.
LegalOrder = tuple[CloudEvent, LegalOrderIssuedV1]


def notice_id(event_id: str, *parts: str) -> str:
    """A stable id for a notice the hub derives from an event, so a retry repeats it."""
    return str(uuid.uuid5(_NOTICE_NAMESPACE, "/".join((event_id, *parts))))


def decide(
    event: CloudEvent,
    payload: EventPayload,
    referral: ReferralState | None,
    consent: ConsentRecord | None,
    agencies: Mapping[str, AgencyView],
    *,
    hub_id: str,
    cast: Caster,
    now: datetime,
    original: tuple[CloudEvent, EventPayload] | None = None,
    order: LegalOrder | None = None,
    disclosure: DisclosureSettings | None = None,
) -> Decision:
    """Decide one event.

    ``original`` is the referral's own request, for a compelled disclosure;
    ``order`` the legal order a disclosure or a refusal answers (None when the
    referral has no accepted order of that id); ``disclosure`` who may issue
    orders and receive compelled disclosures (the defaults when absent).
    """
    context = _Context(
        event,
        payload,
        referral,
        consent,
        agencies,
        hub_id,
        cast,
        now,
        disclosure or DisclosureSettings(),
    )
    match payload:
        case ReferralRequestedV1() | ReferralRequestedV2():
            return context.requested(payload)
        case ReferralStatusChangedV1():
            return context.status_changed(payload)
        case ReferralOutcomeReportedV1():
            return context.outcome_reported()
        case DisclosureCompelledV1() | DisclosureCompelledV2():
            return context.compelled(payload, original, order)
        case LegalOrderIssuedV1():
            return context.order_issued(payload)
        case LegalOrderDeclinedV1():
            return context.order_declined(payload, order)
        case ConsentGrantedV1() | ConsentWithdrawnV1():
            # The consent registry is updated when the event is accepted; routing
            # of withdrawal notices is decided by the consent handler.
            return Decision()
        case _:
            return context.refuse(
                FailureReason.INVALID_EVENT, f"{event.type} is not routed from ingress"
            )


@dataclass(frozen=True)
class _Context:
    event: CloudEvent
    payload: EventPayload
    referral: ReferralState | None
    consent: ConsentRecord | None
    agencies: Mapping[str, AgencyView]
    hub_id: str
    cast: Caster
    now: datetime
    disclosure: DisclosureSettings

    def requested(self, payload: ReferralRequestedV1 | ReferralRequestedV2) -> Decision:
        if self.referral is not None:
            return self.refuse(
                FailureReason.INVALID_EVENT, f"referral {payload.referral_id} already exists"
            )
        if payload.from_agency != self.event.source:
            return self.refuse(
                FailureReason.NOT_A_PARTY, "from_agency must be the agency sending the event"
            )
        if payload.to_agency not in self.agencies:
            return self.refuse(
                FailureReason.UNKNOWN_AGENCY, f"no agency {payload.to_agency!r} is configured"
            )
        if self.agencies[payload.to_agency].kind is AgencyKind.OBSERVER:
            return self.refuse(
                FailureReason.INVALID_EVENT,
                f"{payload.to_agency} is an observer: it receives no referrals, only aggregates",
            )
        state = ReferralState(
            referral_id=payload.referral_id,
            from_agency=payload.from_agency,
            to_agency=payload.to_agency,
            subject_id=payload.subject_id,
            consent_id=payload.consent_id,
            service=payload.service,
            status=ReferralStatus.REQUESTED,
        )
        routed = self._route(state, payload.to_agency)
        return Decision(
            new_referral=state,
            new_status=ReferralStatus.REQUESTED,
            deliveries=routed.deliveries,
            blocked=routed.blocked,
            notices=routed.notices,
        )

    def status_changed(self, payload: ReferralStatusChangedV1) -> Decision:
        state = self.referral
        other = self._other_party(state) if state is not None else None
        if state is None or other is None:
            return self._unknown_referral()
        try:
            check_mover(
                Party.RECEIVER if self.event.source == state.to_agency else Party.REFERRER,
                payload.status,
            )
        except AccessDenied as exc:
            return self.refuse(FailureReason.NOT_A_PARTY, str(exc))
        try:
            check_transition(state.status, payload.status)
        except IllegalTransition as exc:
            return self.refuse(FailureReason.ILLEGAL_TRANSITION, str(exc))
        routed = self._route(state, other)
        return Decision(
            new_status=payload.status,
            deliveries=routed.deliveries,
            blocked=routed.blocked,
            notices=routed.notices,
        )

    def outcome_reported(self) -> Decision:
        state = self.referral
        if state is None or self._other_party(state) is None:
            return self._unknown_referral()
        if self.event.source != state.to_agency:
            return self.refuse(
                FailureReason.NOT_A_PARTY, "only the agency handling a referral reports outcomes"
            )
        routed = self._route(state, state.from_agency)
        return Decision(
            deliveries=routed.deliveries, blocked=routed.blocked, notices=routed.notices
        )

    def compelled(
        self,
        payload: DisclosureCompelledV1 | DisclosureCompelledV2,
        original: tuple[CloudEvent, EventPayload] | None,
        order: LegalOrder | None,
    ) -> Decision:
        """Deliver without consent where the law requires it, and say so to everyone concerned.

        Only the holder of the data, the referrer whose request put it into the
        hub, may disclose it so; the recipient must be of a kind allowed to
        receive compelled disclosures. The recipient gets the request limited to
        the categories the law (and the order it answers, if any) names, as an
        event of its own id, and the override itself (its legal basis); the agency
        that recorded her consent gets the override too, as its cue to inform her.
        """
        state = self.referral
        if state is None or original is None or self._other_party(state) is None:
            return self._unknown_referral()
        if self.event.source != state.from_agency:
            return self.refuse(
                FailureReason.NOT_A_PARTY,
                f"only the referrer of {state.referral_id}, which holds its data, may disclose "
                "it without consent",
            )
        recipient = self.agencies.get(payload.recipient)
        if recipient is None:
            return self.refuse(
                FailureReason.UNKNOWN_AGENCY, f"no agency {payload.recipient!r} is configured"
            )
        if recipient.kind not in self.disclosure.compelled_recipient_kinds:
            return self.refuse(
                FailureReason.INVALID_EVENT,
                f"an agency of kind {recipient.kind.value} may not receive compelled disclosures",
            )
        allowed = frozenset(payload.categories)
        order_id = payload.order_id if isinstance(payload, DisclosureCompelledV2) else None
        if order_id is not None:
            if order is None or order[0].id != order_id:
                return self.refuse(
                    FailureReason.INVALID_EVENT,
                    f"no legal order {order_id} was issued for {state.referral_id}",
                )
            order_event, issued = order
            if payload.recipient != (issued.disclose_to or order_event.source):
                return self.refuse(
                    FailureReason.INVALID_EVENT,
                    f"legal order {order_id} names another recipient than {payload.recipient}",
                )
            allowed &= frozenset(issued.categories)
        request_event, request = original
        # The holder's own request bounds what goes: a category it never sent
        # cannot be disclosed, whatever the law names.
        redaction = redact(request, allowed)
        disclosed = request_event.with_data(
            redaction.data,
            id=notice_id(self.event.id, "disclosed", recipient.agency_id),
            time=self.now,
            consentid=state.consent_id,
            overrideid=self.event.id,
        )
        override_copy = self.event.with_data(
            self.event.data, consentid=state.consent_id, overrideid=self.event.id
        )
        deliveries = [
            Delivery(
                recipient=recipient.agency_id,
                event=self._for_reader(disclosed, recipient),
                consent_id=state.consent_id,
                disclosed=redaction.disclosed,
                withheld=redaction.withheld,
                withheld_fields=redaction.withheld_fields,
                override=True,
            ),
            Delivery(
                recipient.agency_id,
                self._for_reader(override_copy, recipient),
                state.consent_id,
                override=True,
            ),
        ]
        recorder = self.consent.recorded_by if self.consent is not None else state.from_agency
        if recorder != recipient.agency_id and recorder in self.agencies:
            deliveries.append(
                Delivery(
                    recorder,
                    self._for_reader(override_copy, self.agencies[recorder]),
                    state.consent_id,
                    override=True,
                )
            )
        return Decision(deliveries=tuple(deliveries))

    def order_issued(self, payload: LegalOrderIssuedV1) -> Decision:
        """Carry a legal order to the holder of the referral's data, and to no one else.

        The hub answers nothing itself: the holder decides, with its own
        compelled disclosure citing the order or a ``legal.order-declined``.
        """
        state = self.referral
        if state is None:
            return self.refuse(
                FailureReason.UNKNOWN_REFERRAL, f"no referral {payload.referral_id} is known"
            )
        issuer = self.agencies.get(self.event.source)
        if issuer is None or issuer.kind not in self.disclosure.order_issuer_kinds:
            kind = issuer.kind.value if issuer is not None else "unknown"
            return self.refuse(
                FailureReason.INVALID_EVENT,
                f"an agency of kind {kind} may not issue legal orders",
            )
        if self.event.source == state.from_agency:
            return self.refuse(
                FailureReason.INVALID_EVENT,
                "the holder of a referral's data needs no order to disclose it",
            )
        target = self.agencies.get(payload.disclose_to or self.event.source)
        if target is None or target.kind not in self.disclosure.compelled_recipient_kinds:
            return self.refuse(
                FailureReason.INVALID_EVENT,
                f"{payload.disclose_to} may not receive compelled disclosures",
            )
        return self._to_party(state.from_agency)

    def order_declined(self, payload: LegalOrderDeclinedV1, order: LegalOrder | None) -> Decision:
        """The holder's refusal of an order reaches the order's issuer."""
        state = self.referral
        if state is None:
            return self.refuse(
                FailureReason.UNKNOWN_REFERRAL, f"no referral {payload.referral_id} is known"
            )
        if self.event.source != state.from_agency:
            return self.refuse(
                FailureReason.NOT_A_PARTY,
                f"only the referrer of {state.referral_id}, which holds its data, answers "
                "legal orders for it",
            )
        if order is None or order[0].id != payload.order_id:
            return self.refuse(
                FailureReason.INVALID_EVENT,
                f"no legal order {payload.order_id} was issued for {state.referral_id}",
            )
        return self._to_party(order[0].source)

    def _to_party(self, recipient_id: str) -> Decision:
        """The event as sent, to one agency, outside consent: a legal step, not her data."""
        agency = self.agencies.get(recipient_id)
        if agency is None:
            detail = f"no agency {recipient_id!r} is configured"
            return Decision(
                blocked=(Blocked(recipient_id, FailureReason.UNKNOWN_AGENCY, detail),),
                notices=(self._blocked_notice(recipient_id, FailureReason.UNKNOWN_AGENCY, detail),),
            )
        # No consent id: withdrawing her consent does not cancel a legal step.
        copy = self._for_reader(self.event.with_data(self.event.data, consentid=None), agency)
        return Decision(notices=(Delivery(recipient_id, copy, None),))

    def refuse(self, reason: FailureReason, detail: str) -> Decision:
        """Nothing changes; the sender hears why, when it is an agency we know."""
        notices: tuple[Delivery, ...] = ()
        if self.event.source in self.agencies:
            notices = (self._failure_notice(self.event.source, None, reason, detail, "refused"),)
        return Decision(refusal=(reason, detail), notices=notices)

    def _unknown_referral(self) -> Decision:
        """The one answer about a referral the sender is no party to, known or not.

        Saying "not a party" would confirm to a prober that another agency's
        referral id exists.
        """
        return self.refuse(
            FailureReason.UNKNOWN_REFERRAL, f"no referral {self.event.subject} is known"
        )

    def _other_party(self, state: ReferralState) -> str | None:
        if self.event.source == state.to_agency:
            return state.from_agency
        if self.event.source == state.from_agency:
            return state.to_agency
        return None

    def _route(self, state: ReferralState, recipient_id: str) -> Decision:
        agency = self.agencies.get(recipient_id)
        if agency is None:
            detail = f"no agency {recipient_id!r} is configured"
            return Decision(
                blocked=(Blocked(recipient_id, FailureReason.UNKNOWN_AGENCY, detail),),
                notices=(self._blocked_notice(recipient_id, FailureReason.UNKNOWN_AGENCY, detail),),
            )
        consent = self.consent
        if consent is not None and (
            consent.consent_id != state.consent_id or consent.subject_id != state.subject_id
        ):
            # A consent given by someone else never covers her referral.
            consent = None
        if consent is not None and not self._refers_under(consent, state.from_agency):
            # Every event of the referral travels under its referrer's right to use
            # the consent, so a referral made on a consent id merely seen goes nowhere.
            detail = (
                f"{state.from_agency} neither recorded consent {consent.consent_id} "
                "nor is named in it as one that may refer her onward"
            )
            return Decision(
                blocked=(Blocked(recipient_id, FailureReason.CONSENT_SCOPE, detail),),
                notices=(self._blocked_notice(recipient_id, FailureReason.CONSENT_SCOPE, detail),),
            )
        decision = permit(consent, agency.recipient, state.purpose, self.now)
        if not decision.allowed:
            reason = decision.reason or FailureReason.CONSENT_MISSING
            return Decision(
                blocked=(Blocked(recipient_id, reason, decision.detail),),
                notices=(self._blocked_notice(recipient_id, reason, decision.detail),),
            )
        redaction = redact(self.payload, decision.categories)
        copy = self.event.with_data(redaction.data, consentid=state.consent_id)
        copy = self._for_reader(copy, agency)
        return Decision(
            deliveries=(
                Delivery(
                    recipient=recipient_id,
                    event=copy,
                    consent_id=state.consent_id,
                    disclosed=redaction.disclosed,
                    withheld=redaction.withheld,
                    withheld_fields=redaction.withheld_fields,
                ),
            )
        )

    def _refers_under(self, consent: ConsentRecord, referrer_id: str) -> bool:
        referrer = self.agencies.get(referrer_id)
        return may_refer_under(consent, referrer_id, referrer.kind if referrer else None)

    def _for_reader(self, copy: CloudEvent, agency: AgencyView) -> CloudEvent:
        """Cast to the newest version the recipient reads, if it named any."""
        versions = agency.accepts.get(copy.type)
        if not versions or copy.version in versions:
            return copy
        readable = [version for version in versions if version <= copy.version]
        return self.cast(copy, max(readable) if readable else min(versions))

    def _blocked_notice(self, recipient: str, reason: FailureReason, detail: str) -> Delivery:
        return self._failure_notice(self.event.source, recipient, reason, detail, recipient)

    def _failure_notice(
        self,
        to: str,
        recipient: str | None,
        reason: FailureReason,
        detail: str,
        discriminator: str,
    ) -> Delivery:
        notice = DeliveryFailedV1(
            referral_id=self.event.subject,
            failed_event_id=self.event.id,
            failed_event_type=self.event.type,
            recipient=recipient,
            reason=reason,
            detail=detail[:500],
            failed_at=self.now,
        )
        envelope = new_event(
            notice,
            source=self.hub_id,
            event_id=notice_id(self.event.id, "failed", discriminator),
            time=self.now,
            consent_id=self.event.consentid,
            correlation_id=self.event.correlationid or self.event.id,
            traceparent=self.event.traceparent,
        )
        return Delivery(recipient=to, event=envelope, consent_id=None)
