"""Finding the adapters: the built-in ones, and any an installed package declares.

A package ships an adapter by declaring an entry point in the ``hub.adapters``
group (``name = "package.module:AdapterClass"``). The built-in ``court``,
``fhir`` and ``social-db`` adapters are always present, even when the package
metadata lacks their entries (a source checkout that was never installed).
Nothing is loaded at import time.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from hub.adapters.base import Adapter, AdapterContext
from hub.adapters.court import CourtAdapter
from hub.adapters.fhir import FhirAdapter
from hub.adapters.social_db import SocialDbAdapter
from hub.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "build_adapter", "load_adapters"]

ENTRY_POINT_GROUP = "hub.adapters"

_BUILT_IN: dict[str, type[Adapter]] = {
    CourtAdapter.name: CourtAdapter,
    FhirAdapter.name: FhirAdapter,
    SocialDbAdapter.name: SocialDbAdapter,
}


def load_adapters() -> dict[str, type[Adapter]]:
    """Adapter classes by name; ConfigError names an entry point that is broken."""
    found = dict(_BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        adapter = _load(entry)
        known = found.get(entry.name)
        if known is not None and known is not adapter:
            raise ConfigError(
                f"{ENTRY_POINT_GROUP}.{entry.name}",
                f"{entry.value} would replace the adapter {known.__module__}.{known.__qualname__}",
            )
        found[entry.name] = adapter
    return dict(sorted(found.items()))


def build_adapter(name: str, context: AdapterContext) -> Adapter:
    """An adapter instance, or ConfigError when no adapter has that name."""
    adapters = load_adapters()
    adapter = adapters.get(name)
    if adapter is None:
        known = ", ".join(adapters)
        raise ConfigError("adapter", f"no adapter named {name!r} (known: {known})")
    return adapter(context)


def _load(entry: EntryPoint) -> type[Adapter]:
    key = f"{ENTRY_POINT_GROUP}.{entry.name}"
    try:
        loaded = entry.load()
    except Exception as exc:
        # A plug-in may fail to import in any way at all; to the hub that is
        # one thing, a broken configuration, named by its entry point.
        raise ConfigError(key, f"cannot load {entry.value}: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
        raise ConfigError(key, f"{entry.value} is not a hub.adapters.base.Adapter subclass")
    if loaded.name != entry.name:
        raise ConfigError(key, f"{entry.value} calls itself {loaded.name!r}")
    return loaded
