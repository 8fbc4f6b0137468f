"""Patient: a pseudonymous subject id, and identity and contact only where given.

On the bus the survivor is ``sub_<hash>`` of an agency-local identifier. Her
name, birth date and telephone or e-mail travel only as the ``identity`` and
``contact`` categories of a referral, which consent then discloses or withholds
per recipient; nothing else of the Patient resource is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub.adapters.fhir._nodes import Node
from hub.adapters.fhir._references import Resource, Resources, reference_type
from hub.adapters.fhir.mapping import CONTACT_PREFERENCES_URL, SUBJECT_SYSTEM
from hub.adapters.pseudonyms import subject_id

__all__ = ["Subject", "contact_of", "identity_of", "subject_of"]

_SUBJECT_ID = re.compile(r"^sub_[0-9a-f]{32,64}$")
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME_RANK = {"official": 0, "usual": 1, None: 2}
_IGNORED_USES = frozenset({"old", "temp", "anonymous"})


@dataclass(frozen=True)
class Subject:
    subject_id: str
    patient: Resource | None


def subject_of(
    reference: Node | None, origin: Resource, resources: Resources, key: bytes, element: str
) -> Subject:
    """The subject a reference to a Patient names, from the Patient or the reference."""
    if reference is None:
        raise origin.node.fail("required: the Patient the referral is for", element)
    patient = resources.resolve(reference, origin)
    kind = reference_type(reference, patient)
    if kind not in (None, "Patient"):
        raise reference.fail(f"must reference a Patient, not {kind}")
    if patient is not None:
        return Subject(_from_identifiers(patient.node, key), patient)
    logical = reference.child("identifier")
    if logical is not None:
        holder = logical.at({"identifier": [logical.data]}, reference.path)
        return Subject(_from_identifiers(holder, key), None)
    raise reference.fail(
        "the Patient is not in this document and the reference carries no identifier"
    )


def _from_identifiers(node: Node, key: bytes) -> str:
    candidates = []
    for position, identifier in enumerate(node.children("identifier")):
        system, value = identifier.text("system"), identifier.text("value")
        if not system or not value or not value.strip():
            continue
        if system == SUBJECT_SYSTEM:
            if not _SUBJECT_ID.fullmatch(value):
                raise identifier.fail("not a hub subject id (sub_ and 32 to 64 hex digits)")
            return value
        use = identifier.text("use")
        if use in _IGNORED_USES:
            continue
        candidates.append((_rank(identifier, use), position, system, value))
    if not candidates:
        raise node.fail("needs an identifier with a system and a value", "identifier")
    _, _, system, value = min(candidates)
    return subject_id(key, system, value)


def _rank(identifier: Node, use: str | None) -> int:
    # The medical record number is what a hospital keeps stable for a person.
    kind = identifier.child("type")
    if kind is not None and any(c.text("code") == "MR" for c in kind.children("coding")):
        return 0
    return {"usual": 1, "official": 2}.get(use or "", 3)


def identity_of(patient: Resource | None) -> dict[str, Any] | None:
    """Name and birth date, the only identity the FHIR adapter reads."""
    if patient is None:
        return None
    found: dict[str, Any] = {}
    names = [n for n in patient.node.children("name") if n.text("use") not in _IGNORED_USES]
    if names:
        name = min(names, key=lambda n: _NAME_RANK.get(n.text("use"), 3))
        given = " ".join(part for part in name.texts("given") if part)
        if given:
            found["given_name"] = given
        family = name.text("family")
        if family:
            found["family_name"] = family
    birth_date = patient.node.text("birthDate")
    if birth_date and _FULL_DATE.fullmatch(birth_date):
        # A partial date (year, year-month) does not fit the contract's date.
        found["birth_date"] = birth_date
    return found or None


def contact_of(patient: Resource | None) -> dict[str, Any] | None:
    """Telephone, e-mail and the hub's contact-preferences extension."""
    if patient is None:
        return None
    found: dict[str, Any] = {}
    for point in patient.node.children("telecom"):
        system, value = point.text("system"), point.text("value")
        if not value or point.text("use") == "old":
            continue
        if system in {"phone", "sms"} and "phone" not in found:
            found["phone"] = value
        elif system == "email" and "email" not in found:
            found["email"] = value
    for extension in patient.node.children("extension"):
        if extension.text("url") == CONTACT_PREFERENCES_URL:
            found.update(_preferences(extension))
    return found or None


def _preferences(extension: Node) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in extension.children("extension"):
        url = part.text("url")
        if url == "doNotContact":
            flag = part.flag("valueBoolean")
            if flag is None:
                raise part.fail("doNotContact needs valueBoolean")
            found["do_not_contact"] = flag
        elif url == "safeChannel":
            found["safe_channel"] = part.require("valueCode")
        elif url == "safeTimes":
            found["safe_times"] = part.require("valueString")
        elif url == "instructions":
            found["instructions"] = part.require("valueString")
        else:
            raise part.fail(f"unknown contact preference {url!r}")
    # Present at all means contact data was shared, even with nothing else set.
    found.setdefault("do_not_contact", False)
    return found
