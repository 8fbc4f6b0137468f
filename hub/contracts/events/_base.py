"""What every event payload shares: frozen, closed, strict, and self-describing."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints

from hub.contracts.categories import NOT_BLANK_PATTERN, TextKind

__all__ = ["AgencyId", "EventPayload", "Identifier", "LongText", "Part", "ShortText"]

#: Agency ids are slugs: they name Kafka topics (``agency.<id>.inbox``).
AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
#: Text fields hold something to read: blank text says nothing, and FHIR cannot carry it.
#: (\x1c-\x1f count as blank too, as Python and the FHIR models read them.)
_NOT_BLANK = NOT_BLANK_PATTERN
#: An id or code-like name a system assigned: routing data, no category needed.
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=_NOT_BLANK),
    TextKind.IDENTIFIER,
]
#: Free text (see ``hub.contracts.categories``): a field of it needs a data category.
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=500, pattern=_NOT_BLANK), TextKind.FREE
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=20_000, pattern=_NOT_BLANK), TextKind.FREE
]


class Part(BaseModel):
    """A nested value object inside a payload."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class EventPayload(BaseModel):
    """The ``data`` of one canonical event type at one version.

    Strict validation runs on JSON input, where enums and timestamps arrive as
    strings; closed content (``extra="forbid"``) makes schema evolution rules
    explicit (see ``hub.contracts.compatibility``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_type: ClassVar[str]
    version: ClassVar[int]
    #: The payload field that is the CloudEvents ``subject`` and the Kafka key.
    subject_field: ClassVar[str] = "referral_id"

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))
