"""The court exchange format: the XML schema, the CSV variant, and what each refuses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from hub.adapters import NativeInput
from hub.adapters.court import CourtAdapter, parse_xml, record_event_id
from hub.adapters.court._xml import MAX_FILE_BYTES
from hub.contracts import CloudEvent, new_event
from hub.contracts.examples import EXAMPLES
from hub.errors import AdapterError
from tests.adapters.adapter_suite import AdapterSuite
from tests.adapters.court.samples import (
    COURT,
    HOSPITAL,
    REFERRAL_CSV,
    REFERRAL_XML,
    SHELTER,
    court_adapter,
)


def carried_by_court(event: CloudEvent) -> dict[str, Any]:
    """All of the data but who sent it, which the file's sender says."""
    return {k: v for k, v in event.data.items() if k not in ("from_agency", "subject_id")}


def example(key: tuple[str, int], **changes: Any) -> CloudEvent:
    payload = EXAMPLES[key].model_copy(update=changes)
    return new_event(payload, source=COURT)


class TestCourtAdapterXml(AdapterSuite):
    def create_adapter(self) -> CourtAdapter:
        return court_adapter()

    def sample_events(self) -> Sequence[CloudEvent]:
        return [
            example(("referral.requested", 2), from_agency=COURT, to_agency=SHELTER),
            example(("referral.status-changed", 1)),
            example(("referral.outcome-reported", 1)),
        ]

    def sample_native(self) -> Sequence[NativeInput]:
        return [REFERRAL_XML]

    def carried(self, event: CloudEvent) -> dict[str, Any]:
        return carried_by_court(event)

    def oversized(self) -> bytes:
        # A registry export is a batch of records: its limit is the file's, not one event's.
        return b"<court-records>" + b" " * MAX_FILE_BYTES + b"</court-records>"

    def garbage(self) -> Sequence[bytes]:
        return [b"<", b"<court-records", b"\x00\xff\xfe garbage \x81", b"<?xml version='1.0'?><a/>"]

    def wrong_shapes(self) -> Sequence[bytes]:
        return [
            b'<court-records xmlns="urn:referral-hub:court-records:v1"/>',
            b'<court-records xmlns="urn:other" sender="x"/>',
            b"<html><body>hello</body></html>",
        ]


class TestCourtAdapterCsv(TestCourtAdapterXml):
    def create_adapter(self) -> CourtAdapter:
        return court_adapter(format="csv")

    def sample_events(self) -> Sequence[CloudEvent]:
        return [example(("referral.status-changed", 1)), example(("referral.outcome-reported", 1))]

    def sample_native(self) -> Sequence[NativeInput]:
        return [REFERRAL_CSV]

    def oversized(self) -> bytes:
        return b"kind\r\n" + b"x" * MAX_FILE_BYTES

    def garbage(self) -> Sequence[bytes]:
        return [b"", b"\x00\xff\xfe garbage \x81", b'kind,record-id\r\n"unterminated']

    def wrong_shapes(self) -> Sequence[bytes]:
        return [
            b"a,b,c\r\n1,2,3\r\n",
            b"kind,record-id,recorded-at\r\nletter,1,2026-01-01T00:00:00Z\r\n",
        ]


def test_a_registry_file_decodes_through_aliases_and_code_maps() -> None:
    """Court codes name agencies, the registry's codes name services, outcomes and statuses."""
    referral, status, outcome = court_adapter().decode(REFERRAL_XML)

    assert referral.source == COURT
    assert referral.data["to_agency"] == SHELTER
    assert referral.data["service"] == "emergency-shelter"
    assert referral.data["legal"] == {
        "case_number": "2026/UE/412",
        "complaint_filed": True,
        "protection_order": "none",
    }
    assert "PARTIE-88812" not in json.dumps(referral.structured())
    assert referral.id == record_event_id(COURT, "UE-2026-0412")
    assert status.data["status"] == "accepted"
    assert outcome.data["outcome"] == "protection-order-granted"
    assert outcome.data["domain"] == "justice"


def test_the_csv_variant_reads_the_same_records() -> None:
    """A spreadsheet export decodes like XML: one event per row."""
    referral, status = court_adapter(format="csv").decode(REFERRAL_CSV)

    assert referral.data["service"] == "emergency-shelter"
    assert status.data == {"referral_id": "REF-9", "status": "accepted"}


def test_csv_columns_can_be_renamed_per_court() -> None:
    """A court whose export names its columns otherwise maps them in configuration."""
    renamed = REFERRAL_CSV.replace(b"kind,record-id,", b"TYPE,NUM_ENREG,")
    columns = json.dumps({"kind": "TYPE", "record-id": "NUM_ENREG"})

    events = court_adapter(format="csv", csv_columns=columns).decode(renamed)

    assert len(events) == 2


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (
            REFERRAL_XML.replace(b"<to>FOYER-DAA</to>", b"<to>NOBODY</to>"),
            "no agency is known as 'NOBODY'",
        ),
        (
            REFERRAL_XML.replace(b">HEB-URG<", b">HEB-XXX<"),
            "no code map for urn:ma:justice:registry-codes|HEB-XXX",
        ),
        (REFERRAL_XML.replace(b'sender="TPI-CASA-UE"', b'sender="FOYER-DAA"'), "names 'FOYER-DAA'"),
        (REFERRAL_XML.replace(b'+01:00"', b'"', 1), "/court-records/referral"),
        (REFERRAL_XML.replace(b"<priority>urgent", b"<priority>whenever"), "priority"),
    ],
)
def test_a_bad_record_is_refused_naming_where(document: bytes, fragment: str) -> None:
    """Each refusal names the element (an XPath) or the value at fault."""
    with pytest.raises(AdapterError) as caught:
        court_adapter().decode(document)

    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b"<court-records>" + b"<a>" * 50 + b"</a>" * 50 + b"</court-records>",
    ],
    ids=["entity-expansion", "external-entity", "too-deep"],
)
def test_dangerous_xml_is_refused_before_it_is_read(document: bytes) -> None:
    """DTDs, entities and deep nesting are refused; nothing outside the file is read."""
    with pytest.raises(AdapterError) as caught:
        court_adapter().decode(document)

    assert "passwd" not in str(caught.value) or "refused" in str(caught.value)


def test_an_oversized_file_is_refused() -> None:
    """A file over the limit is refused without being parsed."""
    with pytest.raises(AdapterError, match="bytes"):
        parse_xml(b"<court-records>" + b" " * (9 * 1024 * 1024) + b"</court-records>")


def test_text_xml_cannot_carry_is_refused_on_the_way_out() -> None:
    """An event whose text holds a control character is not written as broken XML."""
    event = example(("referral.status-changed", 1), note="line\x01break")

    with pytest.raises(AdapterError, match="control character"):
        court_adapter().encode(event)


def test_other_events_travel_as_notices() -> None:
    """A consent withdrawal reaches a court as a notice with its contract's JSON."""
    event = new_event(EXAMPLES[("consent.withdrawn", 1)], source=HOSPITAL)

    written = court_adapter().encode(event)

    assert isinstance(written, bytes)
    _sender, (record,) = parse_xml(written)
    assert record.kind == "notice"
    assert record.attributes["type"] == "consent.withdrawn"
    assert json.loads(record.fields["payload"]) == event.data


def test_a_registry_cannot_send_notices() -> None:
    """Notices are the hub's: a registry file holding one is refused."""
    event = new_event(EXAMPLES[("consent.withdrawn", 1)], source=HOSPITAL)
    written = court_adapter(source=HOSPITAL).encode(event)

    with pytest.raises(AdapterError, match="hub only"):
        court_adapter(source=HOSPITAL).decode(written)


@pytest.mark.parametrize("fmt", ["xml", "csv"])
def test_a_delivery_names_the_consent_or_disclosure_it_went_under(fmt: str) -> None:
    """The registry learns which consent, or which compelled disclosure, allowed a delivery."""
    referral = example(("referral.requested", 2)).with_data(
        EXAMPLES[("referral.requested", 2)].model_dump(mode="json"),
        consentid="cns-0412",
        overrideid="evt-compelled-1",
    )
    adapter = court_adapter(format=fmt)

    _named, (record,) = adapter.records(adapter.encode(referral))

    assert record.attributes["consent"] == "cns-0412"
    assert record.attributes["override"] == "evt-compelled-1"
    # What a registry sends back under these names changes nothing the hub takes in.
    assert "overrideid" not in adapter.event(record, SHELTER).extensions
