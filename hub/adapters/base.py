"""The adapter port: one agency-native format to and from canonical events.

An agency keeps its own system; an adapter is the narrow translation between
that system's messages and the hub's contracts, so nothing past the adapter
ever sees a native format. Every adapter offers the same two operations:

- ``decode(native)``: native input to canonical CloudEvents, each valid against
  its contract, or :class:`hub.errors.AdapterError` naming the element at fault;
- ``encode(event, target_version=...)``: one canonical event to the native form.

Decoding is deterministic: the same native input gives the same event ids, so
a system that sends the same message twice is de-duplicated by the hub's
event-id idempotency. Adapters are discovered through the ``hub.adapters``
entry-point group (see :mod:`hub.adapters.registry`), so an agency can ship its
own in a separate package.

Errors (all :class:`hub.errors.AdapterError`, which carries ``reason`` and the
element ``path``)::

    AdapterError              input the adapter cannot translate (422-like)
    └── UnreadableInput       not even readable: not JSON, too big, too deep (400-like)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeAlias

from hub.adapters.directory import Directory
from hub.contracts import CloudEvent, ContractRegistry, default_registry
from hub.errors import AdapterError

__all__ = [
    "Adapter",
    "AdapterContext",
    "NativeInput",
    "NativeOutput",
    "UnreadableInput",
]

#: What an adapter decodes: raw bytes as received, or an already parsed document.
NativeInput: TypeAlias = bytes | Mapping[str, Any]
#: What an adapter encodes to: bytes for opaque formats, a JSON object otherwise.
NativeOutput: TypeAlias = bytes | dict[str, Any]


class UnreadableInput(AdapterError):
    """The input cannot even be read: not the expected syntax, too large or too deep."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AdapterContext:
    """What the hub hands every adapter it builds.

    ``source`` is the agency whose native messages are decoded: it becomes the
    CloudEvents ``source`` of every event (the HTTP endpoints set it to the
    authenticated caller). ``pseudonym_key`` keys the hash that turns
    agency-local patient identifiers into subject ids; it is never shown.
    ``clock`` stamps events whose native form carries no timestamp.
    ``directory`` resolves the names and codes external systems use (see
    :mod:`hub.adapters.directory`).
    """

    pseudonym_key: bytes = field(repr=False)
    source: str | None = None
    registry: ContractRegistry = field(default_factory=default_registry)
    options: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = _utc_now
    #: The configuration's agency aliases and code maps, for names external systems use.
    directory: Directory | None = None


class Adapter(ABC):
    """Translates one native format; subclasses set ``name`` and implement both ways."""

    name: ClassVar[str]

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @abstractmethod
    def decode(self, native: NativeInput) -> list[CloudEvent]:
        """Canonical events for ``native``, or AdapterError with a reason and a path."""

    @abstractmethod
    def encode(self, event: CloudEvent, *, target_version: str | None = None) -> NativeOutput:
        """``event`` in the native form (of ``target_version``, where the format has versions)."""
