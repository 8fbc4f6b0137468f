"""What every event payload shares: frozen, closed, strict, and self-describing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    field_validator,
)

from hub.contracts.categories import NOT_BLANK_PATTERN, TextKind

__all__ = [
    "AgencyId",
    "EventPayload",
    "Identifier",
    "LongText",
    "Part",
    "ShortText",
    "StorableDatetime",
    "nul_free",
]

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

#: The instants every store and encoder downstream can hold and write back in
#: any offset: a year of margin inside Python's calendar (years 1..9999) on both
#: sides, so no conversion to UTC or to a local offset can overflow later.
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _storable(value: datetime) -> datetime:
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant falls outside the calendar when converted to UTC") from None
    if not EARLIEST_INSTANT <= instant <= LATEST_INSTANT:
        raise ValueError(
            f"the instant must lie between {EARLIEST_INSTANT.year} and "
            f"{LATEST_INSTANT.year} (UTC) to be stored and sent on"
        )
    return value


#: Every timestamp of every contract: offset-aware and within the storable range.
StorableDatetime = Annotated[AwareDatetime, AfterValidator(_storable)]

_NUL = "\x00"


def nul_free(value: object) -> object:
    """``value`` unchanged, or ValueError if any string in it holds a NUL character.

    PostgreSQL cannot store NUL in text, so such a value would be accepted and
    then fail at every later stage; it is refused where it enters instead.
    """
    where = _nul_at(value, "")
    if where is not None:
        shown = f" (at {where})" if where else ""
        raise ValueError(f"text may not contain NUL characters{shown}")
    return value


def _nul_at(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return path if _NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if (isinstance(key, str) and _NUL in key) or _nul_at(item, inner) is not None:
                return _nul_at(item, inner) or inner
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _nul_at(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class Part(BaseModel):
    """A nested value object inside a payload."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return nul_free(value)


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

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return nul_free(value)

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))
