"""The public surface of ``hub.audit``: an explicit, sorted ``__all__`` of names that exist."""

from __future__ import annotations

import hub.audit


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_unique_and_importable() -> None:
    """Every name in __all__ exists, appears once, and constants, classes, functions sort apart."""
    names = hub.audit.__all__
    assert len(set(names)) == len(names)
    assert names == sorted(names, key=_isort_key)
    for name in names:
        assert hasattr(hub.audit, name), name


def test_public_names_are_exported() -> None:
    """Nothing public is defined in the package module without being listed."""
    public = {name for name in vars(hub.audit) if not name.startswith("_")}
    submodules = {"chain", "checkpoints", "entries", "erasure", "replay", "report", "signing"}
    assert public - submodules - set(hub.audit.__all__) == set()
