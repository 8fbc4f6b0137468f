"""Referral status: the FHIR ``Task.status`` vocabulary and its one transition table.

The HL7 closed-loop referral guides (Gravity SDOH Clinical Care, BSeR) manage a
referral as a FHIR Task; the hub keeps the same status codes so a hospital's Task
maps one to one.
"""

from __future__ import annotations

from enum import StrEnum

from hub.errors import AccessDenied, IllegalTransition

__all__ = [
    "MOVED_BY",
    "TERMINAL",
    "TRANSITIONS",
    "Party",
    "ReferralStatus",
    "check_mover",
    "check_transition",
]


class ReferralStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


_S = ReferralStatus

#: Every allowed move, in one place. A status absent as a key is terminal.
TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    _S.REQUESTED: frozenset({_S.RECEIVED, _S.ACCEPTED, _S.REJECTED, _S.CANCELLED, _S.FAILED}),
    _S.RECEIVED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.ON_HOLD, _S.CANCELLED, _S.FAILED}),
    _S.ACCEPTED: frozenset({_S.IN_PROGRESS, _S.ON_HOLD, _S.COMPLETED, _S.CANCELLED, _S.FAILED}),
    _S.IN_PROGRESS: frozenset({_S.ON_HOLD, _S.COMPLETED, _S.CANCELLED, _S.FAILED}),
    _S.ON_HOLD: frozenset({_S.ACCEPTED, _S.IN_PROGRESS, _S.CANCELLED, _S.FAILED}),
}

TERMINAL: frozenset[ReferralStatus] = frozenset(set(ReferralStatus) - set(TRANSITIONS))


class Party(StrEnum):
    """A party to a referral, as the status table names who may move it."""

    REFERRER = "referrer"
    RECEIVER = "receiving agency"
    EITHER = "either party"


#: Who may move a referral into each status. The receiving agency does the work,
#: so it receives, accepts, declines, starts, completes or fails it; the referrer
#: made the request, so only it withdraws it; either may put it on hold (she may
#: ask the referrer to wait as much as the receiving agency may have to), and a
#: note travels on whichever move its sender may make.
MOVED_BY: dict[ReferralStatus, Party] = {
    _S.RECEIVED: Party.RECEIVER,
    _S.ACCEPTED: Party.RECEIVER,
    _S.REJECTED: Party.RECEIVER,
    _S.IN_PROGRESS: Party.RECEIVER,
    _S.COMPLETED: Party.RECEIVER,
    _S.FAILED: Party.RECEIVER,
    _S.CANCELLED: Party.REFERRER,
    _S.ON_HOLD: Party.EITHER,
}


def check_transition(current: ReferralStatus | None, requested: ReferralStatus) -> None:
    """Refuse a move the table does not allow; a new referral can only be ``requested``."""
    if current is None:
        if requested is ReferralStatus.REQUESTED:
            return
        raise IllegalTransition(None, requested.value)
    if requested not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current.value, requested.value)


def check_mover(party: Party, requested: ReferralStatus) -> None:
    """Refuse a move ``party`` may not make; only a new request makes ``requested``."""
    allowed = MOVED_BY.get(requested)
    if allowed is None or (allowed is not Party.EITHER and allowed is not party):
        who = allowed.value if allowed is not None else "no party"
        raise AccessDenied(f"only the {who} may move a referral to {requested.value}")
