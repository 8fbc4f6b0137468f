"""The CloudEvents 1.0 envelope: attributes, extensions, structured JSON and Kafka binary mode.

Interoperability is checked against the official ``cloudevents`` SDK (its v2 ``core`` API):
what we write, it reads with the same attributes and data, and the other way round.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.contracts import (
    MAX_EVENT_BYTES,
    CloudEvent,
    default_registry,
    from_kafka,
    new_event,
    parse_structured,
    to_kafka,
)
from hub.contracts._uris import dataschema_uri
from hub.contracts.examples import EXAMPLES
from hub.errors import InvalidEnvelope
from tests.contracts.strategies import events_of, referral_requested_v1, referral_requested_v2

AT = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
SOURCE = "chu-ibn-rochd"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
REFERRAL = EXAMPLES[("referral.requested", 2)]
CONTRACTS = list(default_registry())
#: RFC 3339 ``date-time`` (section 5.6), the CloudEvents ``Timestamp`` encoding.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
REQUIRED = ("id", "source", "specversion", "type")
#: Every attribute ``new_event`` sets on a referral, extensions included.
ATTRIBUTES = (
    *REQUIRED,
    "time",
    "subject",
    "dataschema",
    "datacontenttype",
    "consentid",
    "correlationid",
    "traceparent",
)

any_event = events_of(referral_requested_v1() | referral_requested_v2())


def contract_id(contract: Any) -> str:
    return f"{contract.event_type}-v{contract.version}"


def example_event() -> CloudEvent:
    return new_event(
        REFERRAL,
        source=SOURCE,
        event_id="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        time=AT,
        consent_id=REFERRAL.consent_id,
        correlation_id="corr-42",
        traceparent=TRACEPARENT,
    )


def document(**changes: Any) -> dict[str, Any]:
    """The example's structured JSON object with ``changes``; a None value removes the key."""
    found = {**example_event().structured(), **changes}
    return {key: value for key, value in found.items() if value is not None}


def encoded(**changes: Any) -> bytes:
    return json.dumps(document(**changes)).encode()


def refused(raw: bytes | str) -> InvalidEnvelope:
    with pytest.raises(InvalidEnvelope) as caught:
        parse_structured(raw)
    return caught.value


def parse_or_refusal(raw: bytes) -> CloudEvent | InvalidEnvelope:
    """The parsed event, or the InvalidEnvelope raised; any other exception propagates."""
    try:
        return parse_structured(raw)
    except InvalidEnvelope as error:
        return error


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def sdk_attributes(event: CloudEvent) -> dict[str, Any]:
    """The attributes the SDK should see for ``event``: ours, with ``time`` as a datetime."""
    attributes = {key: value for key, value in event.structured().items() if key != "data"}
    attributes["time"] = event.time
    return attributes


# -- attributes set by new_event -----------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_new_event_sets_the_required_attributes(contract: Any) -> None:
    """Every event the hub builds has a non-empty id, source and type, and specversion 1.0."""
    structured = new_event(contract.example, source=SOURCE).structured()
    for name in REQUIRED:
        assert isinstance(structured[name], str), name
        assert structured[name], name
    assert structured["specversion"] == "1.0"
    assert structured["type"] == contract.event_type
    assert structured["source"] == SOURCE


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_new_event_sets_time_subject_dataschema_and_content_type(contract: Any) -> None:
    """The optional attributes the hub relies on are always present and well formed."""
    payload = contract.example
    structured = new_event(payload, source=SOURCE).structured()
    assert RFC3339.fullmatch(structured["time"]), structured["time"]
    assert structured["subject"] == payload.subject
    assert structured["subject"] == getattr(payload, payload.subject_field)
    schema = urlsplit(structured["dataschema"])
    assert schema.scheme == "https"
    assert schema.netloc
    assert structured["dataschema"] == dataschema_uri(contract.event_type, contract.version)
    assert structured["datacontenttype"] == "application/json"
    assert structured["data"] == payload.model_dump(mode="json", exclude_none=True)


def test_new_event_draws_a_fresh_id_and_the_current_time() -> None:
    """Without an id or time, each event gets its own id and a UTC timestamp of now."""
    before = datetime.now(UTC)
    first, second = (new_event(REFERRAL, source=SOURCE) for _ in range(2))
    assert first.id != second.id
    assert before <= first.time <= datetime.now(UTC)
    assert first.time.utcoffset() == timedelta(0)


def test_new_event_carries_consent_correlation_and_trace_as_extensions() -> None:
    """consentid, correlationid and traceparent travel as extensions when given."""
    event = example_event()
    assert event.extensions == {
        "consentid": REFERRAL.consent_id,
        "correlationid": "corr-42",
        "traceparent": TRACEPARENT,
    }
    assert {"consentid", "correlationid", "traceparent"} <= set(event.structured())


def test_absent_extensions_are_left_out_of_the_json() -> None:
    """An event without consent, correlation or trace has no such attribute, not a null one."""
    structured = new_event(REFERRAL, source=SOURCE).structured()
    assert not {"consentid", "correlationid", "traceparent"} & set(structured)
    assert None not in structured.values()


# -- extension naming rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("consentid", "cns-1"),
        ("correlationid", "corr-1"),
        ("traceparent", TRACEPARENT),
        ("overrideid", "e-1"),
    ],
)
def test_an_extension_the_hub_defines_is_kept(name: str, value: object) -> None:
    """The hub's own extensions are accepted and kept, in JSON and on Kafka."""
    event = parse_structured(encoded(**{name: value}))
    assert event.extensions[name] == value
    assert event.structured()[name] == value
    record = to_kafka(event)
    assert from_kafka(record.key, record.value, record.headers).extensions[name] == value


@pytest.mark.parametrize(
    "extensions",
    [{"survivorname": "Salma Bennani"}, {"phone": "+212600000111", "x1": "3", "a" * 20: "t"}],
    ids=["one", "several"],
)
def test_an_extension_the_hub_does_not_define_is_refused_by_name(
    extensions: dict[str, str],
) -> None:
    """Any other extension is refused, each named: nothing travels outside the data."""
    error = refused(encoded(**extensions))
    assert set(error.fields) == set(extensions)
    assert all("not an extension the hub defines" in message for _, message in error.errors)


def test_a_kafka_record_with_a_foreign_extension_header_is_refused_by_name() -> None:
    """A record with a ce_ header the hub does not define is not read as an event."""
    record = to_kafka(example_event())
    with pytest.raises(InvalidEnvelope) as caught:
        from_kafka(record.key, record.value, [*record.headers, ("ce_phone", b"+212600000111")])
    assert caught.value.fields == ("phone",)


@pytest.mark.parametrize(
    "name", ["consentId", "consent_id", "a" * 21, "trace-parent", "café", "Subject"]
)
def test_extension_name_breaking_the_rule_is_refused(name: str) -> None:
    """An extension name with upper case, punctuation or over 20 characters is refused by name."""
    error = refused(encoded(**{name: "x"}))
    assert name in str(error)


@pytest.mark.parametrize("value", [{"nested": "object"}, ["a", "list"], 1.5], ids=repr)
def test_extension_value_must_be_a_string_integer_or_boolean(value: object) -> None:
    """A structured value (object, array) or a float as an extension is refused by name."""
    error = refused(encoded(correlationid=value))
    assert "correlationid" in str(error)


def test_each_bad_extension_is_reported_at_its_own_path() -> None:
    """Two badly named extensions are both reported, each under its own name."""
    error = refused(encoded(consentId="a", consent_id="b"))
    assert set(error.fields) == {"consentId", "consent_id"}


# -- traceparent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "00-abc",
        TRACEPARENT.upper(),
        TRACEPARENT[:-3],
        TRACEPARENT.replace("-", "_"),
        TRACEPARENT + "-",
        " " + TRACEPARENT,
        "",
    ],
)
def test_traceparent_not_in_w3c_form_is_refused(value: str) -> None:
    """A traceparent that is not version-traceid-parentid-flags in lower-case hex is refused."""
    assert refused(encoded(traceparent=value)).fields == ("traceparent",)


def test_w3c_traceparent_is_kept() -> None:
    """A well-formed traceparent reaches the event unchanged."""
    assert parse_structured(encoded(traceparent=TRACEPARENT)).traceparent == TRACEPARENT


@pytest.mark.parametrize(
    "value",
    [
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    ],
    ids=["version-ff", "zero-trace-id", "zero-parent-id"],
)
def test_traceparent_with_an_invalid_version_or_id_is_refused(value: str) -> None:
    """A traceparent W3C declares invalid (version ff, all-zero ids) is refused."""
    assert refused(encoded(traceparent=value)).fields == ("traceparent",)


# -- structured JSON -----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(any_event)
def test_structured_json_round_trip(event: CloudEvent) -> None:
    """An event written as structured JSON reads back equal, from bytes or from text."""
    raw = event.to_json()
    assert parse_structured(raw) == event
    assert parse_structured(raw.decode()) == event
    assert json.loads(raw) == event.structured()
    assert RFC3339.fullmatch(event.structured()["time"])


@pytest.mark.parametrize(
    "value",
    [1773480600, "1773480600", "2026-03-14T09:30Z"],
    ids=["number", "numeric-string", "no-seconds"],
)
def test_time_that_is_not_rfc3339_is_refused(value: object) -> None:
    """A time that is not an RFC 3339 date-time string is refused."""
    assert refused(encoded(time=value)).fields == ("time",)


# -- bad input to parse_structured ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"\xff\xfe{}", b"[]", b'"event"', b"42", b"null", b"[" + encoded() + b"]"],
    ids=["malformed", "empty", "bad-utf8", "array", "string", "number", "null", "wrapped"],
)
def test_document_that_is_not_a_json_object_is_refused(raw: bytes) -> None:
    """Input that is not a JSON object is refused as a whole, at the document root."""
    assert refused(raw).fields == ("(root)",)


@pytest.mark.parametrize("name", [*REQUIRED, "time", "subject", "dataschema", "data"])
def test_missing_attribute_is_refused_by_name(name: str) -> None:
    """An event missing a required attribute (or one the hub requires) names it."""
    assert refused(encoded(**{name: None})).fields == (name,)


@pytest.mark.parametrize("name", ["id", "source", "type", "subject", "dataschema"])
def test_empty_attribute_is_refused_by_name(name: str) -> None:
    """An attribute present but empty is refused by name."""
    assert refused(encoded(**{name: ""})).fields == (name,)


@pytest.mark.parametrize("value", ["0.3", "1", "2.0", 1.0])
def test_other_specversion_is_refused(value: object) -> None:
    """Only CloudEvents 1.0 is spoken."""
    assert refused(encoded(specversion=value)).fields == ("specversion",)


@pytest.mark.parametrize("value", [[1, 2], "text", 42])
def test_data_that_is_not_an_object_is_refused(value: object) -> None:
    """The data of a hub event is a JSON object."""
    assert refused(encoded(data=value)).fields == ("data",)


def test_non_json_content_type_is_refused() -> None:
    """The hub's events carry JSON data only."""
    assert refused(encoded(datacontenttype="text/plain")).fields == ("datacontenttype",)


def test_event_over_the_size_limit_is_refused_and_one_at_the_limit_is_read() -> None:
    """MAX_EVENT_BYTES is the largest event accepted; one byte more is refused."""
    base = json.dumps(document(data={"pad": ""})).encode()
    at_limit = json.dumps(document(data={"pad": "x" * (MAX_EVENT_BYTES - len(base))})).encode()
    assert len(at_limit) == MAX_EVENT_BYTES
    assert parse_structured(at_limit).data["pad"]
    over = json.dumps(document(data={"pad": "x" * (MAX_EVENT_BYTES - len(base) + 1)}))
    error = refused(over.encode())
    assert error.fields == ("(root)",)
    assert str(MAX_EVENT_BYTES) in str(error)


def test_size_limit_counts_utf8_bytes_of_text_input() -> None:
    """A text document under the limit in characters but over it in UTF-8 bytes is refused."""
    text = json.dumps(document(data={"pad": "é" * (MAX_EVENT_BYTES // 2)}), ensure_ascii=False)
    assert len(text) < MAX_EVENT_BYTES < len(text.encode())
    assert refused(text).fields == ("(root)",)


@pytest.mark.parametrize("where", ["root", "data"])
def test_deeply_nested_json_is_refused(where: str) -> None:
    """JSON nested far deeper than any event is refused, not a RecursionError."""
    depth = 100_000
    if where == "root":
        raw = b"[" * depth + b"]" * depth
    else:
        placeholder = json.dumps(document(data={"x": "PLACEHOLDER"}))
        raw = placeholder.replace('"PLACEHOLDER"', "[" * depth + "]" * depth).encode()
    error = refused(raw)
    assert error.fields == ("(root)",)
    assert "nested too deeply" in str(error)


def test_text_with_a_lone_surrogate_is_refused() -> None:
    """Text that cannot be UTF-8 is refused as an envelope error, not a crash."""
    assert refused('{"id": "\ud800"}').fields == ("(root)",)


_WRITABLE_REASON = "hub bug: parse_structured accepts an event the hub cannot write back: "


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("data", {"note": "ünïcödé ✓"}, id="unicode-data"),
        pytest.param("correlationid", "plain", id="string-extension"),
        pytest.param("time", "2026-03-14T09:30:00+05:30", id="time-with-offset"),
        pytest.param("data", {"x": nested(200)}, id="data-nested-200"),
        pytest.param("data", {"x": nested(300)}, id="data-nested-300"),
        pytest.param("data", {"x": "\ud800"}, id="surrogate-in-data"),
        pytest.param("correlationid", "\ud800", id="surrogate-in-extension"),
        pytest.param("time", "0001-01-01T00:00:00+05:00", id="time-before-year-1-utc"),
    ],
)
def test_event_the_parser_accepts_can_be_written_back_out(name: str, value: object) -> None:
    """Whatever parse_structured accepts, the hub can write as JSON and to Kafka and read back."""
    try:
        event = parse_structured(encoded(**{name: value}))
    except InvalidEnvelope:
        return
    assert parse_structured(event.to_json()) == event
    record = to_kafka(event)
    assert from_kafka(record.key, record.value, record.headers) == event


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda value: json.dumps(value).encode()))
def test_arbitrary_input_gives_an_event_or_invalid_envelope(raw: bytes) -> None:
    """No input bytes make parse_structured raise anything but InvalidEnvelope."""
    result = parse_or_refusal(raw)
    assert isinstance(result, CloudEvent) or result.fields


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([*ATTRIBUTES, "data", "overrideid", "myext"]), json_values)
def test_any_attribute_value_gives_an_event_or_invalid_envelope(name: str, value: Any) -> None:
    """Replacing one attribute with any JSON value never raises anything but InvalidEnvelope."""
    result = parse_or_refusal(encoded(**{name: value}))
    assert isinstance(result, CloudEvent) or result.fields


# -- Kafka binary mode ---------------------------------------------------------------------------


def test_kafka_headers_are_ce_attributes_plus_content_type() -> None:
    """Each attribute is one ce_ header; datacontenttype is the content-type header."""
    event = example_event()
    headers = to_kafka(event).headers
    names = [name for name, _ in headers]
    assert len(names) == len(set(names))
    expected = {f"ce_{name}" for name in ATTRIBUTES if name != "datacontenttype"}
    assert set(names) == expected | {"content-type"}
    values = {name: value.decode() for name, value in headers}
    assert values["content-type"] == "application/json"
    structured = event.structured()
    for name in ATTRIBUTES:
        if name not in {"datacontenttype", "time"}:
            assert values[f"ce_{name}"] == structured[name]
    assert values["ce_time"] == "2026-03-14T09:30:00Z"


def test_kafka_key_is_the_referral_id_and_value_the_json_data() -> None:
    """The record key keeps one referral on one partition; the value is the data alone."""
    event = example_event()
    record = to_kafka(event)
    assert record.key == REFERRAL.referral_id.encode()
    assert json.loads(record.value) == event.data
    assert "specversion" not in json.loads(record.value)


def test_kafka_omits_absent_extensions() -> None:
    """An event without extensions has no header for them."""
    names = {name for name, _ in to_kafka(new_event(REFERRAL, source=SOURCE)).headers}
    assert not {"ce_consentid", "ce_correlationid", "ce_traceparent"} & names


@settings(max_examples=100, deadline=None)
@given(any_event)
def test_kafka_round_trip(event: CloudEvent) -> None:
    """An event written to Kafka in binary mode reads back equal."""
    record = to_kafka(event)
    assert record.key == event.subject.encode()
    assert from_kafka(record.key, record.value, record.headers) == event


def test_kafka_time_with_an_offset_reads_back_as_the_same_instant() -> None:
    """A time with a UTC offset is written in UTC and reads back as the same instant."""
    offset = datetime(2026, 3, 14, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    event = new_event(REFERRAL, source=SOURCE, time=offset)
    record = to_kafka(event)
    assert dict(record.headers)["ce_time"] == b"2026-03-14T09:30:00Z"
    assert from_kafka(record.key, record.value, record.headers).time == offset


def test_kafka_record_whose_key_differs_from_the_subject_is_refused() -> None:
    """A record keyed by another referral is refused: it would break per-referral ordering."""
    record = to_kafka(example_event())
    with pytest.raises(InvalidEnvelope) as caught:
        from_kafka(b"ref-someone-else", record.value, record.headers)
    assert caught.value.fields == ("key",)


@pytest.mark.parametrize(
    ("value", "field"),
    [(None, "data"), (b"{not json", "data"), (b"[1, 2]", "data"), (b"[" * 100_000, "data")],
    ids=["no-value", "not-json", "not-object", "nested"],
)
def test_kafka_record_with_bad_value_is_refused(value: bytes | None, field: str) -> None:
    """A record whose value is missing or not a JSON object is refused at ``data``."""
    record = to_kafka(example_event())
    with pytest.raises(InvalidEnvelope) as caught:
        from_kafka(record.key, value, record.headers)
    assert caught.value.fields == (field,)


def test_kafka_record_over_the_size_limit_is_refused() -> None:
    """A record value over MAX_EVENT_BYTES is refused before it is parsed."""
    record = to_kafka(example_event())
    with pytest.raises(InvalidEnvelope) as caught:
        from_kafka(record.key, b" " * (MAX_EVENT_BYTES + 1), record.headers)
    assert caught.value.fields == ("data",)


@pytest.mark.parametrize("name", ["ce_id", "ce_type", "ce_specversion", "ce_subject"])
def test_kafka_record_missing_an_attribute_header_is_refused(name: str) -> None:
    """A record without one of the attribute headers names the attribute."""
    record = to_kafka(example_event())
    headers = [(key, value) for key, value in record.headers if key != name]
    with pytest.raises(InvalidEnvelope) as caught:
        from_kafka(None, record.value, headers)
    assert caught.value.fields == (name.removeprefix("ce_"),)


@pytest.mark.parametrize("value", [3, True])
def test_a_non_string_extension_is_refused_as_kafka_would_change_it(value: object) -> None:
    """Kafka headers are text, so an integer or boolean extension is refused, by name."""
    error = refused(encoded(correlationid=value))
    assert error.fields == ("correlationid",)


# -- the official SDK ----------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(any_event)
def test_sdk_reads_our_structured_json(event: CloudEvent) -> None:
    """The SDK's JSON format reads our structured JSON with the same attributes and data."""
    sdk = JSONFormat().read(None, event.to_json())
    assert isinstance(sdk, SdkEvent)
    assert sdk.get_attributes() == sdk_attributes(event)
    assert sdk.get_data() == event.data


@settings(max_examples=50, deadline=None)
@given(any_event)
def test_sdk_reads_our_kafka_binary_record(event: CloudEvent) -> None:
    """The SDK's Kafka binding reads our binary record with the same attributes and data."""
    record = to_kafka(event)
    message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    sdk = from_binary(message, JSONFormat())
    assert isinstance(sdk, SdkEvent)
    # The SDK surfaces the record key as the partitionkey extension.
    assert sdk.get_attributes() == {**sdk_attributes(event), "partitionkey": event.subject}
    assert sdk.get_data() == event.data


def sdk_event(event: CloudEvent) -> SdkEvent:
    return SdkEvent(attributes=sdk_attributes(event), data=event.data)


def test_we_read_the_sdks_structured_json() -> None:
    """Structured JSON written by the SDK parses into the same event."""
    event = example_event()
    assert parse_structured(JSONFormat().write(sdk_event(event))) == event


def test_we_read_the_sdks_kafka_binary_record() -> None:
    """A binary record the SDK writes, keyed by subject, reads back as the same event."""
    event = example_event()
    message = to_binary(sdk_event(event), JSONFormat(), key_mapper=lambda sdk: sdk.get_subject())
    assert isinstance(message.key, str)
    headers = list(message.headers.items())
    assert from_kafka(message.key.encode(), message.value, headers) == event
