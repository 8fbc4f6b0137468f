"""Referral status: the FHIR ``Task.status`` vocabulary and its one transition table.

The HL7 closed-loop referral guides (Gravity SDOH Clinical Care, BSeR) manage a
referral as a FHIR Task; the hub keeps the same status codes so a hospital's Task
maps one to one.
"""

from __future__ import annotations

from enum import StrEnum

from hub.errors import IllegalTransition

__all__ = ["TERMINAL", "TRANSITIONS", "ReferralStatus", "check_transition"]


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


def check_transition(current: ReferralStatus | None, requested: ReferralStatus) -> None:
    """Refuse a move the table does not allow; a new referral can only be ``requested``."""
    if current is None:
        if requested is ReferralStatus.REQUESTED:
            return
        raise IllegalTransition(None, requested.value)
    if requested not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current.value, requested.value)
