"""Adapter discovery through the ``hub.adapters`` entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import ClassVar

import pytest

from hub.adapters import Adapter, AdapterContext, NativeInput, NativeOutput, registry
from hub.adapters.court import CourtAdapter
from hub.adapters.fhir import FhirAdapter
from hub.adapters.social_db import SocialDbAdapter
from hub.contracts import CloudEvent
from hub.errors import ConfigError


class EchoAdapter(Adapter):
    """A stand-in for an adapter an agency ships in its own package."""

    name: ClassVar[str] = "echo"

    def decode(self, native: NativeInput) -> list[CloudEvent]:
        return []

    def encode(self, event: CloudEvent, *, target_version: str | None = None) -> NativeOutput:
        return b""


class NotAnAdapter:
    name = "bogus"


def declare(monkeypatch: pytest.MonkeyPatch, *entries: tuple[str, str]) -> None:
    points = [EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in entries]
    monkeypatch.setattr(registry, "entry_points", lambda group: points)


def test_the_built_in_adapters_are_always_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no entry point declared (an uninstalled checkout), the built-in ones are there."""
    declare(monkeypatch)
    assert registry.load_adapters() == {
        "court": CourtAdapter,
        "fhir": FhirAdapter,
        "social-db": SocialDbAdapter,
    }


def test_declared_adapters_are_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point naming an Adapter subclass makes it available by that name."""
    declare(
        monkeypatch,
        ("echo", f"{__name__}:EchoAdapter"),
        ("fhir", "hub.adapters.fhir:FhirAdapter"),
    )
    assert registry.load_adapters() == {
        "court": CourtAdapter,
        "echo": EchoAdapter,
        "fhir": FhirAdapter,
        "social-db": SocialDbAdapter,
    }
    built = registry.build_adapter("echo", AdapterContext(pseudonym_key=b"k"))
    assert isinstance(built, EchoAdapter)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (("echo", "no.such.module:Thing"), "cannot load"),
        (("bogus", f"{__name__}:NotAnAdapter"), "not a hub.adapters.base.Adapter"),
        (("other", f"{__name__}:EchoAdapter"), "calls itself 'echo'"),
        (("fhir", f"{__name__}:EchoAdapter"), "calls itself"),
    ],
)
def test_a_broken_entry_point_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, entry: tuple[str, str], fragment: str
) -> None:
    """A plug-in that fails to load, or is not an adapter, is named in a ConfigError."""
    declare(monkeypatch, entry)
    with pytest.raises(ConfigError, match=fragment) as caught:
        registry.load_adapters()
    assert caught.value.key == f"hub.adapters.{entry[0]}"


def test_an_entry_point_may_not_replace_a_built_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another class under the built-in's name is refused, not silently preferred."""

    class Impostor(EchoAdapter):
        name: ClassVar[str] = "fhir"

    monkeypatch.setattr(registry, "_load", lambda entry: Impostor)
    declare(monkeypatch, ("fhir", "x:y"))
    with pytest.raises(ConfigError, match="would replace"):
        registry.load_adapters()


def test_an_unknown_adapter_name_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """build_adapter names the adapters it knows."""
    declare(monkeypatch)
    with pytest.raises(ConfigError, match="known: court, fhir, social-db"):
        registry.build_adapter("court-registry", AdapterContext(pseudonym_key=b"k"))
