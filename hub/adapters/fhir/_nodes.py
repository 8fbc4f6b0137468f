"""Typed, path-aware reading of a FHIR JSON document.

The document has already passed the fhir.resources model of its version, so
shapes are known to be right; reading it through :class:`Node` keeps mypy's
types honest without ``Any`` and gives every error the FHIR element path the
sender needs to find it (``Bundle.entry[2].resource(ServiceRequest).code``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.errors import AdapterError

__all__ = ["Node"]


@dataclass(frozen=True)
class Node:
    """One JSON object of the document and the element path that leads to it."""

    data: Mapping[str, object]
    path: str

    def fail(self, reason: str, element: str | None = None) -> AdapterError:
        """An error naming this node, or one of its elements."""
        return AdapterError(reason, path=self._at(element) if element else self.path)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail("expected a primitive value", key)
        return str(value)

    def require(self, key: str) -> str:
        value = self.text(key)
        if value is None or not value.strip():
            raise self.fail("required", key)
        return value

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail("expected true or false", key)

    def child(self, key: str) -> Node | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, Mapping):
            return Node(value, self._at(key))
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
            # An element that became a list in R5 (Consent.provision) read as R4's single one.
            return Node(value[0], f"{self._at(key)}[0]")
        raise self.fail("expected an object", key)

    def children(self, key: str) -> list[Node]:
        """A repeating element's objects; a single object (0..1 in R4) counts as one."""
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, Mapping):
            return [Node(value, self._at(key))]
        if not isinstance(value, list):
            raise self.fail("expected a list", key)
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail("expected an object", f"{key}[{index}]")
            found.append(Node(item, f"{self._at(key)}[{index}]"))
        return found

    def texts(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        found = []
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise self.fail("expected a string", f"{key}[{index}]")
            found.append(item)
        return found

    def _at(self, element: str) -> str:
        return f"{self.path}.{element}"
