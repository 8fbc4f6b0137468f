"""How the hub answers each of its errors, on every HTTP surface.

One table, keyed by error class: the HTTP status, the problem title of
``/v1`` (RFC 9457), the FHIR ``OperationOutcome.issue.code`` of ``/fhir``, and
whether the error refuses the sender's submission. :func:`answer_for` walks
the error's MRO (as Starlette looks up exception handlers), so a subclass
answers as its nearest listed ancestor; a test keeps every class listed.

A refusal is the sender's submission at fault (invalid, forbidden, conflicting,
about an erased subject): it is counted and audited. The hub's own trouble
(store or broker down, bad configuration) is not a refusal: the sender did
nothing wrong and is told to retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.adapters import UnreadableInput
from hub.adapters.court.folders import FileTooLarge, FolderError
from hub.adapters.social_db import AgencyDatabaseError
from hub.audit import SubjectErased
from hub.errors import (
    AccessDenied,
    AdapterError,
    BrokerError,
    ConfigError,
    Conflict,
    ContractError,
    DeliveryError,
    HubError,
    IllegalTransition,
    IncompatibleChange,
    InvalidEnvelope,
    InvalidPayload,
    StoreError,
    UnknownEventType,
    UnknownVersion,
)

__all__ = ["ANSWERS", "Answer", "answer_for", "refusal_code"]


@dataclass(frozen=True)
class Answer:
    """What a caller hears for one kind of error."""

    status: int
    title: str
    fhir_code: str
    #: The metric label and audit reason when it refuses the submission; None when not.
    refusal: str | None
    #: Said instead of the error's own message, where that would expose internals.
    detail: str | None = None

    def detail_for(self, exc: HubError) -> str:
        return self.detail if self.detail is not None else str(exc)


_UNAVAILABLE = "the hub is unavailable; retry later"

ANSWERS: Mapping[type[HubError], Answer] = {
    HubError: Answer(400, "Bad request", "processing", "refused"),
    ContractError: Answer(422, "Invalid event", "business-rule", "invalid"),
    UnknownEventType: Answer(
        400, "Unknown event type or version", "not-supported", "unknown-type-or-version"
    ),
    UnknownVersion: Answer(
        400, "Unknown event type or version", "not-supported", "unknown-type-or-version"
    ),
    InvalidPayload: Answer(422, "Invalid event", "invalid", "invalid"),
    InvalidEnvelope: Answer(422, "Invalid event", "invalid", "invalid"),
    IllegalTransition: Answer(422, "Invalid event", "business-rule", "invalid"),
    IncompatibleChange: Answer(422, "Invalid event", "business-rule", "invalid"),
    AccessDenied: Answer(403, "Forbidden", "forbidden", "forbidden"),
    Conflict: Answer(409, "Conflict", "conflict", "conflict"),
    SubjectErased: Answer(
        410, "Gone", "deleted", "erased", "the subject of this event has been erased"
    ),
    AdapterError: Answer(422, "Invalid event", "processing", "invalid"),
    UnreadableInput: Answer(400, "Bad request", "structure", "invalid"),
    StoreError: Answer(503, "Service unavailable", "transient", None, _UNAVAILABLE),
    BrokerError: Answer(503, "Service unavailable", "transient", None, _UNAVAILABLE),
    DeliveryError: Answer(503, "Service unavailable", "transient", None, _UNAVAILABLE),
    AgencyDatabaseError: Answer(503, "Service unavailable", "transient", None, _UNAVAILABLE),
    FolderError: Answer(503, "Service unavailable", "transient", None, _UNAVAILABLE),
    FileTooLarge: Answer(413, "Payload too large", "too-costly", "too-large"),
    ConfigError: Answer(
        500, "Internal error", "exception", None, "the hub could not handle this request"
    ),
}


def answer_for(exc: HubError) -> Answer:
    """The answer of the nearest class in ``exc``'s MRO that the table lists."""
    for cls in type(exc).__mro__:
        answer = ANSWERS.get(cls)
        if answer is not None:
            return answer
    return ANSWERS[HubError]  # unreachable: every HubError has HubError in its MRO


def refusal_code(exc: HubError) -> str | None:
    """Why ``exc`` refuses the sender's submission (counted and audited); None if it does not."""
    return answer_for(exc).refusal
