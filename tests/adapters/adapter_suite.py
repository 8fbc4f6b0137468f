"""The suite every adapter passes: subclass :class:`AdapterSuite` and fill in the hooks.

An adapter's test class subclasses it (``class TestMyAdapter(AdapterSuite)``),
returns the adapter from ``create_adapter()`` and gives samples: canonical
events its format carries, native inputs that decode. The suite then checks
what every adapter promises the hub: the round trip keeps what the format
carries, decoded events satisfy their contracts, decoding is deterministic (so
a re-sent message is de-duplicated), and bad input fails with an
:class:`~hub.errors.AdapterError` that gives a reason, never another exception.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import pytest

from hub.adapters import Adapter, NativeInput, NativeOutput
from hub.contracts import MAX_EVENT_BYTES, CloudEvent, default_registry
from hub.errors import AdapterError


class AdapterSuite(ABC):
    """Behaviour common to all adapters; the hooks below say what a format is."""

    @abstractmethod
    def create_adapter(self) -> Adapter:
        """A fresh adapter under test."""

    @abstractmethod
    def sample_events(self) -> Sequence[CloudEvent]:
        """Canonical events the native format can carry, for the round trip."""

    @abstractmethod
    def sample_native(self) -> Sequence[NativeInput]:
        """Native inputs that decode into at least one event."""

    def carried(self, event: CloudEvent) -> dict[str, Any]:
        """The part of an event's data the native format carries: all of it unless told."""
        return dict(event.data)

    def garbage(self) -> Sequence[bytes]:
        return [b"", b"\x00\xff\xfe garbage \x81", b"{not json", b"\xef\xbb\xbf{]"]

    def wrong_shapes(self) -> Sequence[bytes]:
        return [b"[]", b'"a string"', b"42", b"null", b"{}", b'{"unexpected": [1, 2, 3]}']

    def oversized(self) -> bytes:
        return b'{"padding": "' + b"x" * MAX_EVENT_BYTES + b'"}'

    # --- the suite ---

    def test_adapter_has_a_name(self) -> None:
        """Every adapter names itself; the entry-point group is keyed by that name."""
        assert self.create_adapter().name

    def test_round_trip_keeps_what_the_format_carries(self) -> None:
        """canonical -> native -> canonical is the identity on the carried fields."""
        adapter = self.create_adapter()
        for event in self.sample_events():
            native = adapter.encode(event)
            back = _same_kind(adapter.decode(_as_bytes(native)), event)
            assert self.carried(back) == self.carried(event), event.type

    def test_decoded_events_satisfy_their_contracts(self) -> None:
        """Whatever decode returns is valid against the versioned contracts."""
        adapter = self.create_adapter()
        registry = default_registry()
        for native in self.sample_native():
            events = adapter.decode(native)
            assert events
            for event in events:
                registry.parse(event)

    def test_decode_is_idempotent(self) -> None:
        """The same input twice gives the same event ids (and the same events)."""
        for native in self.sample_native():
            first = self.create_adapter().decode(native)
            again = self.create_adapter().decode(native)
            assert [e.id for e in first] == [e.id for e in again]
            assert [e.data for e in first] == [e.data for e in again]

    def test_garbage_bytes_are_refused_with_a_reason(self) -> None:
        """Bytes that are not the format fail with AdapterError and a reason."""
        for sample in self.garbage():
            with pytest.raises(AdapterError) as caught:
                self.create_adapter().decode(sample)
            assert caught.value.reason, sample

    def test_wrong_shapes_are_refused_with_a_reason(self) -> None:
        """Well-formed input of the wrong shape fails with AdapterError and a reason."""
        for sample in self.wrong_shapes():
            with pytest.raises(AdapterError) as caught:
                self.create_adapter().decode(sample)
            assert caught.value.reason, sample

    def test_oversized_input_is_refused_with_a_reason(self) -> None:
        """Input over the event size limit is refused before it is parsed."""
        with pytest.raises(AdapterError) as caught:
            self.create_adapter().decode(self.oversized())
        assert "bytes" in caught.value.reason


def _as_bytes(native: NativeOutput) -> bytes:
    return native if isinstance(native, bytes) else json.dumps(native).encode()


def _same_kind(events: Sequence[CloudEvent], original: CloudEvent) -> CloudEvent:
    """The decoded event of the original's type and subject, in the original's version."""
    found = [e for e in events if e.type == original.type and e.subject == original.subject]
    assert len(found) == 1, [e.type for e in events]
    event = found[0]
    if event.version != original.version:
        event = default_registry().cast(event, original.version)
    return event
