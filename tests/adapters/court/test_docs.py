"""The court format's published files: the schema as the hub uses it, valid examples, a page."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring

from hub.adapters.court import court_schema, parse_csv, parse_xml, schema_text
from hub.adapters.court.docs import court_docs
from hub.contracts import default_registry


def test_the_published_schema_is_the_one_the_hub_validates_with() -> None:
    """contracts-docs/court carries the very XSD the parser checks files against."""
    assert court_docs(default_registry())["court/court-records-v1.xsd"] == schema_text()


def test_every_example_is_valid_and_reads_back() -> None:
    """Each record kind's example validates against the XSD and parses into one record."""
    files = court_docs(default_registry())
    kinds = {"referral", "status-change", "outcome", "notice"}
    for kind in kinds:
        body = files[f"court/examples/{kind}.xml"].encode()
        assert court_schema().is_valid(fromstring(body)), kind
        _sender, (record,) = parse_xml(body)
        assert record.kind == kind
    assert court_schema().is_valid(fromstring(files["court/examples/receipt.xml"].encode()))
    assert len(parse_csv(files["court/examples/export.csv"].encode())) == 2


def test_the_page_shows_each_record_kind_with_its_example() -> None:
    """The page has a section and an example for every record kind and the CSV variant."""
    page = court_docs(default_registry())["court/README.md"]
    for heading in ("### referral", "### status-change", "### outcome", "### notice", "## CSV"):
        assert heading in page
    assert page.count("```xml") == 5
