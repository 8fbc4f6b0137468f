"""Typed, path-aware reading of a FHIR JSON document.

The document has already passed the fhir.resources model of its version, so
shapes are known to be right; reading it through :class:`Node` keeps mypy's
types honest without ``Any`` and gives every error the FHIR element path the
sender needs to find it (``Bundle.entry[2].resource(ServiceRequest).code``).

A node reads either the model's own JSON of the document, or the JSON as the
sender wrote it (``as_sent``). The two differ only in spelling: the model
writes ``"true"`` as true, a number given for a date as that date, drops empty
lists, parses an object given as a JSON string... Reading as sent, a node
refuses every value not already in its plain form, so whatever it does read
is what the model's JSON holds too, and the decoder can fall back on that.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.errors import AdapterError

__all__ = ["OBJECT_TYPES", "Node"]

#: What a JSON object may be, for isinstance: dict first, since parsed JSON
#: holds nothing else and the Mapping check is an ABC one, several times slower.
OBJECT_TYPES = (dict, Mapping)


class Node:
    """One JSON object of the document and the element path that leads to it."""

    # Slots and a plain constructor: decoding makes a few hundred of these per
    # Bundle, and a frozen dataclass costs several times as much to build.
    __slots__ = ("as_sent", "data", "path")

    def __init__(self, data: Mapping[str, object], path: str, *, as_sent: bool = False) -> None:
        self.data = data
        self.path = path
        self.as_sent = as_sent

    def __repr__(self) -> str:
        return f"Node(path={self.path!r})"

    def at(self, data: Mapping[str, object], path: str) -> Node:
        """Another object of the same document, read the same way."""
        return Node(data, path, as_sent=self.as_sent)

    def fail(self, reason: str, element: str | None = None) -> AdapterError:
        """An error naming this node, or one of its elements."""
        return AdapterError(reason, path=self._at(element) if element else self.path)

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if type(value) is str:
            return value
        if value is None:
            return None
        # As sent, a number where text is expected may be what the model reads
        # as something else (a date, a time): only the model's JSON says what.
        if self.as_sent or isinstance(value, bool) or not isinstance(value, str | int | float):
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
        if isinstance(value, OBJECT_TYPES):
            return Node(value, f"{self.path}.{key}", as_sent=self.as_sent)
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
            # An element that became a list in R5 (Consent.provision) read as R4's single one.
            return Node(value[0], f"{self.path}.{key}[0]", as_sent=self.as_sent)
        raise self.fail("expected an object", key)

    def children(self, key: str) -> list[Node]:
        """A repeating element's objects; a single object (0..1 in R4) counts as one."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            if isinstance(value, OBJECT_TYPES):
                return [Node(value, f"{self.path}.{key}", as_sent=self.as_sent)]
            raise self.fail("expected a list", key)
        at = f"{self.path}.{key}"
        as_sent = self.as_sent
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, OBJECT_TYPES):
                raise self.fail("expected an object", f"{key}[{index}]")
            found.append(Node(item, f"{at}[{index}]", as_sent=as_sent))
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
