"""The resources of one document, and how a reference finds its target among them.

A hospital may send one Task or a whole Bundle; references between resources may
be ``urn:uuid:`` full URLs, ``Type/id``, absolute URLs, ``#id`` into
``contained``, or logical references that carry only an identifier. The hub
never fetches anything: a reference resolves inside the document or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hub.adapters.fhir._nodes import Node

__all__ = [
    "Resource",
    "Resources",
    "external_names",
    "identifier_value",
    "literal_id",
    "reference_type",
]

#: Identifier systems the hub itself names things in: never an agency alias.
_HUB_SYSTEMS = "urn:referral-hub:"

_LITERAL = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


@dataclass(frozen=True, eq=False)
class Resource:
    """One resource of the document: a Bundle entry's, a contained one, or the root."""

    node: Node
    type: str
    full_url: str | None = None
    container: Resource | None = None
    #: The Bundle entry it came from, for its ``request`` (method, url).
    entry: Node | None = None

    @cached_property
    def id(self) -> str | None:
        # Cached: resolving every reference asks each resource for its id.
        return self.node.text("id")

    @property
    def path(self) -> str:
        return self.node.path

    def identifier(self, system: str) -> str | None:
        """The value of this resource's identifier in ``system``."""
        for identifier in self.node.children("identifier"):
            if identifier.text("system") == system and identifier.text("value"):
                return identifier.text("value")
        return None

    def contained(self) -> Iterator[Resource]:
        for index, node in enumerate(self.node.children("contained")):
            kind = node.text("resourceType") or "?"
            path = f"{self.node.path}.contained[{index}]({kind})"
            yield Resource(node.at(node.data, path), kind, container=self)

    def meta(self, key: str) -> str | None:
        meta = self.node.child("meta")
        return meta.text(key) if meta is not None else None


@dataclass(frozen=True)
class Resources:
    """Every resource of one document, in document order (contained ones excluded)."""

    items: tuple[Resource, ...]
    bundle: Node | None = None

    @classmethod
    def of(cls, document: Mapping[str, Any], *, as_sent: bool = False) -> Resources:
        """The resources of ``document``, read as sent or as the model writes it (see Node)."""
        root_type = str(document.get("resourceType"))
        root = Node(document, root_type, as_sent=as_sent)
        if root_type != "Bundle":
            return cls((Resource(root, root_type),))
        items = []
        for index, entry in enumerate(root.children("entry")):
            resource = entry.child("resource")
            if resource is None:
                continue
            kind = resource.text("resourceType") or "?"
            # The path names the type, as the element paths of errors do.
            resource.path = f"Bundle.entry[{index}].resource({kind})"
            items.append(Resource(resource, kind, entry.text("fullUrl"), entry=entry))
        return cls(tuple(items), bundle=root)

    @cached_property
    def _by_full_url(self) -> dict[str, Resource]:
        """The first resource under each full URL, as a scan in document order finds it."""
        found: dict[str, Resource] = {}
        for resource in self.items:
            if resource.full_url is not None:
                found.setdefault(resource.full_url, resource)
        return found

    def of_type(self, kind: str) -> list[Resource]:
        return [resource for resource in self.items if resource.type == kind]

    def resolve(self, reference: Node | None, origin: Resource) -> Resource | None:
        """The resource ``reference`` points at inside this document, if it is here."""
        if reference is None:
            return None
        target = reference.text("reference")
        if not target:
            return None
        if target.startswith("#"):
            holder = origin.container or origin
            wanted = target[1:]
            return next((r for r in holder.contained() if r.id == wanted), None)
        by_url = self._by_full_url.get(target)
        if by_url is not None:
            return by_url
        literal = _LITERAL.search(target)
        if literal is None:
            return None
        for resource in self.items:
            if resource.type == literal["type"] and resource.id == literal["id"]:
                return resource
        return None


def reference_type(reference: Node, resolved: Resource | None) -> str | None:
    """The resource type a reference points at, from its target, ``type`` or URL."""
    if resolved is not None:
        return resolved.type
    declared = reference.text("type")
    if declared:
        return declared
    target = reference.text("reference") or ""
    literal = _LITERAL.search(target)
    return literal["type"] if literal is not None else None


def identifier_value(reference: Node, system: str) -> str | None:
    """The value of a logical reference's identifier, when it is in ``system``."""
    identifier = reference.child("identifier")
    if identifier is None or identifier.text("system") != system:
        return None
    return identifier.text("value") or None


def literal_id(reference: Node, kind: str) -> str | None:
    """The id of a ``Kind/id`` (or ``.../Kind/id``) literal reference."""
    literal = _LITERAL.search(reference.text("reference") or "")
    if literal is None or literal["type"] != kind:
        return None
    return literal["id"]


def external_names(reference: Node, target: Resource | None) -> list[str]:
    """The names an Organization reference gives, as agency aliases are written.

    ``Organization/<id>`` (from a literal reference, absolute or relative, or
    the id of the resource it resolves to), the bare ``<id>`` (a hub agency id
    used as the Organization's id), and each identifier as ``system|value``.
    Identifiers in the hub's own systems name something else (a kind of
    agency, a referral) and are left out; a reference to another type gives none.
    """
    kind = reference_type(reference, target)
    if kind not in (None, "Organization"):
        return []
    names: list[str] = []
    literal = _LITERAL.search(reference.text("reference") or "")
    if literal is not None:
        names += [f"{literal['type']}/{literal['id']}", literal["id"]]
    elif target is not None and target.id:
        names += [f"Organization/{target.id}", target.id]
    identifiers = [reference.child("identifier")]
    if target is not None:
        identifiers += target.node.children("identifier")
    for identifier in identifiers:
        if identifier is None:
            continue
        system, value = identifier.text("system"), identifier.text("value")
        if system and value and not system.startswith(_HUB_SYSTEMS):
            names.append(f"{system}|{value}")
    return names
