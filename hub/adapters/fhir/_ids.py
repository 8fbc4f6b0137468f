"""Deterministic ids, so the same FHIR input always names the same things.

A hospital that re-sends a Bundle (after a timeout, say) must not create a
second referral: event ids derive from who sent which resource at which
version, and the hub's event-id idempotency does the rest. Referral and consent
ids a hospital did not take from the hub derive from the sender and the
resource, so later updates of the same resource name the same referral.

Whatever derives from content is a keyed hash (HMAC-SHA-256 under the hub's
pseudonym key) that names the sender too: another agency that knows or guesses
the content cannot work out the ids it will take, and derived referral and
consent ids lie in the sender's own namespace (``<sender>:...``), which no
other agency may create ids in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["content_hash", "derived_id", "event_id", "fhir_id", "full_url"]

_EVENTS = b"referral-hub/fhir-event-id"
_DERIVED = b"referral-hub/fhir-derived-id"
_RESOURCES = uuid.UUID("5c0d9e2a-41b7-5f63-8a9e-2d7c6b1f0e48")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_MAX_ID = 128
#: ``json.dumps`` with these options would build a new encoder on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def event_id(
    key: bytes, source: str, event_type: str, subject: str, resource_key: str, version_key: str
) -> str:
    """The id of the event ``source`` sends about ``subject`` through one resource version.

    The subject (referral or consent id) is part of the name, so two resources
    that share a local id or carry no id at all never collide across referrals.
    """
    return str(_keyed_uuid(key, _EVENTS, source, event_type, subject, resource_key, version_key))


def _keyed_uuid(key: bytes, purpose: bytes, *parts: str) -> uuid.UUID:
    """A uuid no one without ``key`` can compute from ``parts``."""
    name = purpose + b"\x00" + "\x1f".join(parts).encode()
    digest = hmac.new(key, name, hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def content_hash(data: Mapping[str, Any]) -> str:
    """Stands in for a version when the resource carries no versionId or timestamp."""
    canonical = _CANONICAL.encode(data)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def derived_id(key: bytes, source: str, kind: str, local: str, *, readable: bool) -> str:
    """A hub id for a resource the sender names only locally.

    ``<source>:<local>`` when ``local`` is a plain FHIR id (readable in logs and
    in the sender's own terms: the sender chose it), else ``<source>:`` and a
    keyed hash of the content it is derived from.
    """
    if readable and _FHIR_ID.fullmatch(local) and len(source) + 1 + len(local) <= _MAX_ID:
        return f"{source}:{local}"
    return f"{source}:{_keyed_uuid(key, _DERIVED, source, kind, local)}"


def fhir_id(value: str) -> str:
    """A FHIR resource id for a hub id: itself when it is one, else a uuid5 of it."""
    if _FHIR_ID.fullmatch(value):
        return value
    return str(uuid.uuid5(_RESOURCES, value))


def full_url(kind: str, value: str) -> str:
    """The ``urn:uuid:`` full URL of a resource the hub writes into a Bundle."""
    return f"urn:uuid:{uuid.uuid5(_RESOURCES, f'{kind}|{value}')}"
