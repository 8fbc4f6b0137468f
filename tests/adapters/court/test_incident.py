"""A referral delivered to a court carries her incident classification in ``data``."""

from __future__ import annotations

import json

from hub.adapters.court._records import record_of
from hub.adapters.court._xml import write_xml
from hub.adapters.directory import Directory
from hub.contracts import default_registry, new_event
from tests.adapters.court.samples import COURT, SHELTER, court_adapter

REGISTRY = default_registry()


def test_delivered_referral_data_holds_the_classification() -> None:
    """The v3 example written as a court record keeps ``incident`` whole in its data element."""
    example = REGISTRY.get("referral.requested", 3).example
    event = new_event(example, source="chu-ibn-rochd")
    record = record_of(event, REGISTRY, Directory())
    carried = json.loads(record.fields["data"])["incident"]
    assert carried == example.model_dump(mode="json")["incident"]
    assert b"physical-assault" in write_xml("tpi-casablanca-listening-unit", [record])


def test_a_registry_referral_carrying_the_classification_decodes_in_the_newest_version() -> None:
    """A court referring on a referral it received, classification included, is not refused."""
    example = REGISTRY.get("referral.requested", 3).example.model_copy(
        update={"from_agency": COURT, "to_agency": SHELTER}
    )
    written = court_adapter().encode(new_event(example, source=COURT))
    assert isinstance(written, bytes)

    (event,) = court_adapter().decode(written)

    assert event.version == 3
    assert event.data["incident"] == example.model_dump(mode="json")["incident"]
