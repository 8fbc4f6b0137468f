"""Each package's public surface is explicit: every name in ``__all__`` exists, once."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "hub",
    "hub.adapters",
    "hub.api",
    "hub.audit",
    "hub.broker",
    "hub.config",
    "hub.consent",
    "hub.contracts",
    "hub.contracts.events",
    "hub.delivery",
    "hub.observability",
    "hub.store",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_once(name: str) -> None:
    """A user importing what a package lists in ``__all__`` gets exactly those names."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
