"""The CloudEvents 1.0 envelope and its two encodings.

- structured JSON (``application/cloudevents+json``): HTTP bodies and files;
- Kafka binary content mode: attributes as ``ce_*`` headers, the payload as the
  JSON value, the referral id (the ``subject``) as the record key so one
  referral's events stay in order on one partition.

Extensions carry the consent reference (``consentid``), the correlation id
(``correlationid``), W3C trace context (``traceparent``) and, on the hub's own
copies of a compelled disclosure, the disclosing event (``overrideid``). Those
are the only extensions accepted (:data:`HUB_EXTENSIONS`): an extension sits
outside ``data``, so no data category, redaction or sealing reaches it, and an
agency's own (a name, a phone number) would travel in clear to every recipient
and outlive her erasure. Any other is refused by name.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hub.contracts._uris import dataschema_uri, parse_dataschema
from hub.contracts.events import EventPayload
from hub.contracts.events._base import StorableDatetime, nul_free
from hub.errors import InvalidEnvelope

__all__ = [
    "DLQ_REASON_HEADER",
    "HUB_EXTENSIONS",
    "MAX_EVENT_BYTES",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "KafkaRecord",
    "from_kafka",
    "new_event",
    "parse_structured",
    "pydantic_errors",
    "to_kafka",
]

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
JSON_CONTENT_TYPE: Final = "application/json"
#: The Kafka header a dead-lettered record carries, next to its original headers.
DLQ_REASON_HEADER = "hub_dlq_reason"
#: One event, envelope included, may not exceed this many bytes anywhere.
MAX_EVENT_BYTES = 1024 * 1024

_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_TRACEPARENT = re.compile(
    r"^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$"
)
#: RFC 3339 date-time, as CloudEvents requires for ``time``: seconds and an offset.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_CONTEXT_ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "dataschema",
    "datacontenttype",
)
#: The extensions the hub defines; ``overrideid`` only the hub itself may set
#: (intake refuses it from an agency).
HUB_EXTENSIONS = frozenset({"consentid", "correlationid", "overrideid", "traceparent"})
_KNOWN_ATTRIBUTES = frozenset(
    (*_CONTEXT_ATTRIBUTES, "data", "consentid", "correlationid", "traceparent")
)
_HEADER_PREFIX = "ce_"


class CloudEvent(BaseModel):
    """A canonical event: CloudEvents 1.0 context attributes plus the JSON ``data``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=128)
    time: StorableDatetime
    subject: str = Field(min_length=1, max_length=128)
    dataschema: str = Field(min_length=1, max_length=512)
    datacontenttype: Literal["application/json"] = JSON_CONTENT_TYPE
    data: dict[str, Any]
    consentid: str | None = Field(default=None, min_length=1, max_length=128)
    correlationid: str | None = Field(default=None, min_length=1, max_length=128)
    traceparent: str | None = None

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # ``data`` is checked by its contract, which names the field.
        return value if isinstance(value, dict) else nul_free(value)

    @field_validator("time", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not _RFC3339.fullmatch(value):
            raise ValueError("time must be an RFC 3339 timestamp with seconds and an offset")
        return value

    @field_validator("traceparent")
    @classmethod
    def _w3c_traceparent(cls, value: str | None) -> str | None:
        if value is not None and not _TRACEPARENT.fullmatch(value):
            raise ValueError("traceparent must follow W3C Trace Context")
        return value

    @model_validator(mode="after")
    def _extension_names(self) -> CloudEvent:
        problems = extension_problems(self.model_extra or {})
        if problems:
            raise ValueError(problems[0][1])
        return self

    @property
    def version(self) -> int:
        """The contract version, read from ``dataschema``; 0 for a foreign schema URI."""
        parsed = parse_dataschema(self.dataschema)
        return parsed[1] if parsed is not None else 0

    @property
    def extensions(self) -> dict[str, str]:
        """Every extension attribute present, the hub's own included."""
        found: dict[str, str] = {
            name: value
            for name in ("consentid", "correlationid", "traceparent")
            if (value := getattr(self, name)) is not None
        }
        found.update(self.model_extra or {})
        return found

    def structured(self) -> dict[str, Any]:
        """The structured-mode JSON object."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> bytes:
        return json.dumps(self.structured(), separators=(",", ":"), ensure_ascii=False).encode()

    def with_data(self, data: Mapping[str, Any], **changes: Any) -> CloudEvent:
        """A copy carrying other data (a redacted or cast payload) and attributes."""
        return self.model_copy(update={"data": dict(data), **changes})


def new_event(
    payload: EventPayload,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
    consent_id: str | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
) -> CloudEvent:
    """Wrap a payload in an envelope naming its type, version and subject."""
    return CloudEvent(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=payload.event_type,
        time=time or datetime.now(UTC),
        subject=payload.subject,
        dataschema=dataschema_uri(payload.event_type, payload.version),
        data=payload.model_dump(mode="json", exclude_none=True),
        consentid=consent_id,
        correlationid=correlation_id,
        traceparent=traceparent,
    )


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted field path, message) for each error, paths prefixed with ``prefix``."""
    found = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        found.append((path or "(root)", error["msg"]))
    return found


def extension_problems(extras: Mapping[str, object]) -> list[tuple[str, str]]:
    """One (attribute, reason) per extension that is not the hub's, or breaks the type rule.

    Extensions are strings only: in Kafka binary mode every attribute is a
    header string, and an integer would come back as text.
    """
    problems = []
    for name, value in extras.items():
        if not _ATTRIBUTE_NAME.fullmatch(name):
            problems.append((name, "extension names are 1-20 lower-case letters or digits"))
        elif name not in HUB_EXTENSIONS:
            problems.append((name, _FOREIGN_EXTENSION))
        elif not isinstance(value, str):
            problems.append((name, "extension attributes are strings"))
        elif "\x00" in value:
            problems.append((name, "text may not contain NUL characters"))
    return problems


_FOREIGN_EXTENSION = (
    "not an extension the hub defines; it accepts only "
    + ", ".join(sorted(HUB_EXTENSIONS - {"overrideid"}))
    + " (survivor data goes in data, under its category)"
)


def without_foreign_extensions(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored structured event without the extensions the hub does not define.

    For events accepted before the hub refused foreign extensions: they are
    still handed on, but what they carried outside ``data`` is not.
    """
    return {
        name: value
        for name, value in document.items()
        if name in _KNOWN_ATTRIBUTES or name in HUB_EXTENSIONS
    }


def is_foreign_header(name: str) -> bool:
    """Whether a Kafka header is a ``ce_`` attribute the hub does not define."""
    if not name.startswith(_HEADER_PREFIX):
        return False
    attribute = name[len(_HEADER_PREFIX) :]
    return attribute not in _CONTEXT_ATTRIBUTES and attribute not in HUB_EXTENSIONS


def parse_structured(raw: bytes | str) -> CloudEvent:
    """Parse one structured-mode CloudEvent, or raise InvalidEnvelope naming the fields.

    An event is accepted only if it can also be written out again, structured
    and in Kafka binary mode: nothing accepted may fail later on the way out.
    """
    try:
        size = len(raw.encode() if isinstance(raw, str) else raw)
    except UnicodeEncodeError as exc:
        raise InvalidEnvelope([("(root)", "not valid Unicode text")]) from exc
    if size > MAX_EVENT_BYTES:
        raise InvalidEnvelope(
            [("(root)", f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")]
        )
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError covers malformed JSON, bad UTF-8 and over-long integers;
        # RecursionError a document nested deeper than the parser goes.
        raise InvalidEnvelope([("(root)", f"not JSON: {_reason(exc)}")]) from exc
    event = envelope_from_mapping(document)
    try:
        event.to_json()
        to_kafka(event)
    except (UnicodeEncodeError, ValueError, OverflowError, RecursionError) as exc:
        # Lone surrogates, data nested past the serialiser's depth, a time that
        # overflows when moved to UTC.
        raise InvalidEnvelope([("(root)", f"cannot be encoded: {_reason(exc)}")]) from exc
    return event


def envelope_from_mapping(document: object) -> CloudEvent:
    if not isinstance(document, dict):
        raise InvalidEnvelope([("(root)", "a CloudEvent is a JSON object")])
    extras = {name: value for name, value in document.items() if name not in _KNOWN_ATTRIBUTES}
    problems = extension_problems(extras)
    if problems:
        raise InvalidEnvelope(problems)
    try:
        return CloudEvent.model_validate(document)
    except ValidationError as exc:
        raise InvalidEnvelope(pydantic_errors(exc)) from exc


@dataclass(frozen=True)
class KafkaRecord:
    """A CloudEvent in Kafka binary content mode."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def to_kafka(event: CloudEvent) -> KafkaRecord:
    headers: list[tuple[str, bytes]] = [("content-type", event.datacontenttype.encode())]
    for name in _CONTEXT_ATTRIBUTES:
        if name == "datacontenttype":
            continue
        value = getattr(event, name)
        if value is None:
            continue
        text = _format_time(value) if isinstance(value, datetime) else str(value)
        headers.append((_HEADER_PREFIX + name, text.encode()))
    for name, ext in event.extensions.items():
        headers.append((_HEADER_PREFIX + name, ext.encode()))
    value = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False).encode()
    return KafkaRecord(key=event.subject.encode(), value=value, headers=tuple(headers))


def from_kafka(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> CloudEvent:
    """Read a binary-mode record back; InvalidEnvelope when it is not one of ours."""
    document: dict[str, Any] = {}
    for name, raw in headers:
        if name == "content-type":
            document["datacontenttype"] = raw.decode(errors="replace")
        elif name.startswith(_HEADER_PREFIX):
            document[name[len(_HEADER_PREFIX) :]] = raw.decode(errors="replace")
    if value is None:
        raise InvalidEnvelope([("data", "the record has no value")])
    if len(value) > MAX_EVENT_BYTES:
        raise InvalidEnvelope([("data", "record value over the size limit")])
    try:
        document["data"] = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise InvalidEnvelope([("data", f"not JSON: {_reason(exc)}")]) from exc
    event = envelope_from_mapping(document)
    if key is not None and key.decode(errors="replace") != event.subject:
        raise InvalidEnvelope([("key", "record key differs from the event subject")])
    return event


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200]


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
