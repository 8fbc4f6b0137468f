"""A referral delivered to a court carries her incident classification in ``data``."""

from __future__ import annotations

import json

from hub.adapters.court._records import record_of
from hub.adapters.court._xml import write_xml
from hub.adapters.directory import Directory
from hub.contracts import default_registry, new_event

REGISTRY = default_registry()


def test_delivered_referral_data_holds_the_classification() -> None:
    """The v3 example written as a court record keeps ``incident`` whole in its data element."""
    example = REGISTRY.get("referral.requested", 3).example
    event = new_event(example, source="chu-ibn-rochd")
    record = record_of(event, REGISTRY, Directory())
    carried = json.loads(record.fields["data"])["incident"]
    assert carried == example.model_dump(mode="json")["incident"]
    assert b"physical-assault" in write_xml("tpi-casablanca-listening-unit", [record])
