"""The outbound port: hand one event to one agency in the agency's delivery mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from hub.config import AgencyConfig
from hub.contracts import CloudEvent

__all__ = ["BatchTransport", "Transport"]


class Transport(Protocol):
    """Delivers an event or raises :class:`hub.errors.DeliveryError`.

    ``DeliveryError.retriable`` tells the worker whether another attempt may
    succeed. Recipients de-duplicate on the event id, so delivering again after
    an unclear failure is safe.
    """

    mode: str

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None: ...


@runtime_checkable
class BatchTransport(Transport, Protocol):
    """A transport that can deliver a whole batch at once (one store transaction)."""

    async def deliver_batch(self, items: Sequence[tuple[AgencyConfig, CloudEvent]]) -> None: ...
