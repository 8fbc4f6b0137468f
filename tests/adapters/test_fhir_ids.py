"""Ids the FHIR adapter derives from content: the sender's own, and keyed."""

from __future__ import annotations

import json
from typing import Any

from hub.adapters import AdapterContext
from hub.adapters.fhir import FhirAdapter, FhirVersion
from hub.adapters.fhir._ids import derived_id, event_id
from hub.contracts import CloudEvent
from tests.adapters.fhir_samples import HOSPITAL, KEY, URL_REQUEST, referral_bundle

OTHER_KEY = b"another-hub-pseudonym-key"


def _decode(document: dict[str, Any], key: bytes) -> list[CloudEvent]:
    context = AdapterContext(pseudonym_key=key, source=HOSPITAL)
    adapter = FhirAdapter(context, fhir_version=FhirVersion.R4)
    return adapter.decode(json.dumps(document).encode())


def _request_named_by_identifier_only() -> dict[str, Any]:
    """The referral Bundle, its ServiceRequest carrying an identifier but no id."""
    bundle = referral_bundle()
    for entry in bundle["entry"]:
        if entry["fullUrl"] == URL_REQUEST:
            del entry["resource"]["id"]
            entry["resource"]["identifier"] = [{"system": "urn:chu:orders", "value": "SR-0042"}]
    return bundle


def test_ids_derived_from_content_cannot_be_computed_without_the_hub_key() -> None:
    """The same Bundle decoded under another key gets other event and referral ids."""
    document = _request_named_by_identifier_only()
    ours, theirs = _decode(document, KEY), _decode(document, OTHER_KEY)

    assert [event.type for event in ours] == [event.type for event in theirs]
    assert {event.id for event in ours}.isdisjoint(event.id for event in theirs)
    ours_referral, theirs_referral = (
        next(event.subject for event in events if event.type == "referral.requested")
        for events in (ours, theirs)
    )
    assert ours_referral.startswith(f"{HOSPITAL}:")
    assert ours_referral != theirs_referral
    # Decoding again under the same key names the same things: a retry is idempotent.
    assert [event.id for event in _decode(document, KEY)] == [event.id for event in ours]


def test_the_same_content_from_two_agencies_gets_unrelated_ids() -> None:
    """Two agencies sending the same resource get ids in their own namespaces, not alike."""
    parts = ("referral.requested", "ref-1", "ServiceRequest/sr-1", "1")
    assert event_id(KEY, "chu-a", *parts) != event_id(KEY, "chu-b", *parts)
    local = "urn:chu:orders|SR-0042"
    first = derived_id(KEY, "chu-a", "ServiceRequest", local, readable=False)
    second = derived_id(KEY, "chu-b", "ServiceRequest", local, readable=False)
    assert first.startswith("chu-a:")
    assert second.startswith("chu-b:")
    assert first.removeprefix("chu-a:") != second.removeprefix("chu-b:")
