"""Validating a structured CloudEvent document, as the CLI and file adapters do."""

from __future__ import annotations

from pathlib import Path

from hub.contracts.envelope import MAX_EVENT_BYTES, parse_structured
from hub.contracts.registry import Contract, ContractRegistry
from hub.errors import InvalidEnvelope

__all__ = ["read_event_file", "validate_event_bytes"]


def read_event_file(path: Path) -> bytes:
    """Read at most one byte over the limit, so a huge file is refused cheaply."""
    with path.open("rb") as handle:
        return handle.read(MAX_EVENT_BYTES + 1)


def validate_event_bytes(raw: bytes, registry: ContractRegistry) -> Contract:
    """The contract ``raw`` satisfies, or the ContractError that says why not."""
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEnvelope([("(root)", f"over {MAX_EVENT_BYTES} bytes")])
    event = parse_structured(raw)
    registry.parse(event)
    return registry.contract_of(event)
