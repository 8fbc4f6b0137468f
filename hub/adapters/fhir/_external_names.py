"""Agencies named, in a Bundle for a hospital, the way its EHR names them.

The hub writes every agency with its ``urn:referral-hub:agency`` identifier.
An agency whose configuration gives it aliases is also named by its first one
(:meth:`Directory.external_name`), in the form that alias has:

- ``system|value``: a further identifier on its Organization; a logical
  reference (which holds one identifier) carries the alias instead;
- ``Organization/<id>``: the Organization's id, and the literal reference of a
  logical one;
- anything else (a court code) has no FHIR form and is left out.
"""

from __future__ import annotations

import re
from typing import Any

from hub.adapters.directory import Directory
from hub.adapters.fhir.mapping import AGENCY_SYSTEM

__all__ = ["name_agencies"]

_ORGANIZATION = re.compile(r"Organization/(?P<id>[A-Za-z0-9\-.]{1,64})")


def name_agencies(entries: list[dict[str, Any]], directory: Directory) -> None:
    """Add each agency's external name to the Organizations and references of ``entries``."""
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, dict):
            _visit(resource, directory)


def _visit(node: dict[str, Any], directory: Directory) -> None:
    agency = _agency_of(node.get("identifier"))
    if agency is not None:
        alias = directory.external_name(agency)
        if node.get("resourceType") == "Organization":
            _name_organization(node, alias)
        elif node.get("type") == "Organization" and isinstance(node.get("identifier"), dict):
            _name_reference(node, alias)
    for value in node.values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, dict):
                _visit(child, directory)


def _agency_of(identifier: object) -> str | None:
    """The hub agency id an identifier (or a resource's list of them) names."""
    found = identifier if isinstance(identifier, list) else [identifier]
    for item in found:
        if isinstance(item, dict) and item.get("system") == AGENCY_SYSTEM:
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


def _name_organization(resource: dict[str, Any], alias: str) -> None:
    system, bar, value = alias.partition("|")
    if bar and system and value:
        resource["identifier"].append({"system": system, "value": value})
    elif (literal := _ORGANIZATION.fullmatch(alias)) is not None:
        resource["id"] = literal["id"]


def _name_reference(reference: dict[str, Any], alias: str) -> None:
    system, bar, value = alias.partition("|")
    if bar and system and value:
        reference["identifier"] = {"system": system, "value": value}
    elif _ORGANIZATION.fullmatch(alias) is not None:
        reference["reference"] = alias
