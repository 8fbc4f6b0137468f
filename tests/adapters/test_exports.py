"""The adapters' public surface: explicit, sorted ``__all__``, every name importable."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = [
    "hub.adapters",
    "hub.adapters.base",
    "hub.adapters.pseudonyms",
    "hub.adapters.registry",
    "hub.adapters.fhir",
    "hub.adapters.fhir.adapter",
    "hub.adapters.fhir.decode",
    "hub.adapters.fhir.encode",
    "hub.adapters.fhir.mapping",
    "hub.adapters.fhir.responses",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_and_importable(name: str) -> None:
    """Each public module lists its exports, sorted, and has every name it lists."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    for item in exported:
        assert hasattr(module, item), item
