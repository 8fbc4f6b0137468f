"""The hub's exception tree.

Every error the hub raises on purpose derives from :class:`HubError`; third-party
errors are translated at the boundary (``raise ... from exc``) so no vendor type
crosses a port::

    HubError
    ├── ContractError                 a message does not fit the contracts
    │   ├── UnknownEventType
    │   ├── UnknownVersion
    │   ├── InvalidPayload            carries the offending field paths
    │   ├── InvalidEnvelope
    │   ├── IllegalTransition         carries current and requested status
    │   └── IncompatibleChange        a schema change breaks its compatibility mode
    ├── AccessDenied                  an agency acts outside what it may do
    ├── Conflict                      the same event id arrived with other content
    ├── ConfigError                   names the configuration key at fault
    ├── StoreError                    the store could not be reached or used
    ├── BrokerError                   the Kafka broker could not be reached or used
    ├── AdapterError                  native input an adapter cannot translate
    └── DeliveryError                 an outbound hand-off failed (``retriable`` tells)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccessDenied",
    "AdapterError",
    "BrokerError",
    "ConfigError",
    "Conflict",
    "ContractError",
    "DeliveryError",
    "HubError",
    "IllegalTransition",
    "IncompatibleChange",
    "InvalidEnvelope",
    "InvalidPayload",
    "StoreError",
    "UnknownEventType",
    "UnknownVersion",
]


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    retriable: bool = False


class ContractError(HubError):
    """A message does not fit the versioned contracts."""


class UnknownEventType(ContractError):
    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class UnknownVersion(ContractError):
    def __init__(self, event_type: str, version: str) -> None:
        super().__init__(f"unknown version {version!r} of event type {event_type!r}")
        self.event_type = event_type
        self.version = version


class InvalidPayload(ContractError):
    """The payload or envelope has fields that do not validate.

    ``errors`` holds one ``(path, message)`` pair per offending field, the path
    dotted from the document root (``data.priority``, ``data.evidence.0.sha256``).
    """

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        self.errors: tuple[tuple[str, str], ...] = tuple(errors)
        listed = "; ".join(f"{path}: {message}" for path, message in self.errors)
        super().__init__(f"invalid fields: {listed}")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(path for path, _ in self.errors)


class InvalidEnvelope(InvalidPayload):
    """The CloudEvents envelope itself is malformed."""


class IllegalTransition(ContractError):
    def __init__(self, current: str | None, requested: str) -> None:
        shown = current if current is not None else "(none)"
        super().__init__(f"illegal status transition {shown} -> {requested}")
        self.current = current
        self.requested = requested


class IncompatibleChange(ContractError):
    def __init__(self, event_type: str, reasons: Sequence[str]) -> None:
        super().__init__(f"{event_type}: " + "; ".join(reasons))
        self.event_type = event_type
        self.reasons = tuple(reasons)


class AccessDenied(HubError):
    """An authenticated agency asked for something that is not its to ask."""


class Conflict(HubError):
    """The same identifier arrived again with different content."""


class ConfigError(HubError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"configuration {key}: {message}")
        self.key = key


class StoreError(HubError):
    retriable = True


class BrokerError(HubError):
    retriable = True


class AdapterError(HubError):
    """Native input an adapter cannot translate; ``path`` names where it failed."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.reason = message
        self.path = path


class DeliveryError(HubError):
    """An outbound hand-off failed; ``retriable`` says whether to try again."""

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable
