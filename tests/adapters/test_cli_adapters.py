"""``hub adapters``: list, decode and encode; one-line errors, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from hub.adapters import subject_id
from hub.cli.adapters import app as adapters_app
from hub.contracts import MAX_EVENT_BYTES, default_registry, new_event
from hub.contracts.examples import EXAMPLES
from tests.adapters.fhir_samples import HOSPITAL, MRN, MRN_SYSTEM, referral_bundle

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "fhir"


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    """Run ``hub adapters ARGS`` in process; only a clean exit is acceptable."""
    root = typer.Typer(pretty_exceptions_enable=False)
    root.add_typer(adapters_app, name="adapters")
    result = CliRunner().invoke(root, ["adapters", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("HUB_PSEUDONYM_KEY", "cli-test-key")
    return b"cli-test-key"


def test_list_names_the_built_in_fhir_adapter() -> None:
    """The built-in adapter is listed with its class."""
    result = invoke("list")
    assert result.exit_code == 0
    assert "fhir" in result.stdout
    assert "FhirAdapter" in result.stdout
    rows = json.loads(invoke("list", "--json").stdout)
    assert {"name": "fhir", "class": "hub.adapters.fhir.adapter.FhirAdapter"} in rows


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_decode_prints_structured_cloud_events(
    tmp_path: Path, version: str, pseudonym_key: bytes
) -> None:
    """A referral Bundle decodes into valid CloudEvents, keyed with the configured key."""
    path = write(tmp_path / "bundle.json", referral_bundle(version))
    result = invoke("decode", "fhir", str(path), "--fhir-version", version)
    assert result.exit_code == 0, result.stderr
    events = json.loads(result.stdout)
    assert [event["type"] for event in events] == ["referral.requested"]
    assert events[0]["source"] == HOSPITAL
    assert events[0]["data"]["subject_id"] == subject_id(pseudonym_key, MRN_SYSTEM, MRN)
    assert events[0]["specversion"] == "1.0"


def test_decode_reads_stdin(tmp_path: Path) -> None:
    """FILE may be - for standard input."""
    result = invoke("decode", "fhir", "-", stdin=json.dumps(referral_bundle()).encode())
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["type"] == "referral.requested"


def test_decode_names_the_element_at_fault(tmp_path: Path) -> None:
    """An unsupported entry is one line naming Bundle.entry[i].resource(Type)."""
    bundle = referral_bundle()
    bundle["entry"].insert(1, {"resource": {"resourceType": "Observation"}})
    result = invoke("decode", "fhir", str(write(tmp_path / "b.json", bundle)))
    assert_one_line_error(result, "Bundle.entry[1].resource(Observation)", "unsupported")


def _nested(depth: int) -> str:
    return '{"resourceType": "Task", "extension": [' * depth + "1" + "]}" * depth


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not JSON"),
        (b"{'single': 'quotes'}", "not JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b"[" * 200_000, "not JSON"),
        (_nested(100).encode(), "deeper"),
        (b'{"resourceType": "Task", "n": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"resourceType": "Task", "n": NaN}', "not JSON"),
        (b'{"resourceType": "Observation"}', "unsupported resource type"),
        (b'{"resourceType": "Task", "status": "accepted"}', "intent"),
        (b'{"resourceType": "Bundle", "type": "searchset", "entry": []}', "searchset"),
        (
            b'{"resourceType": "Bundle", "type": "transaction", "entry": [' + b"1," * 10 + b"1]}",
            "no resource",
        ),
        (b'{"x": "' + b"a" * (MAX_EVENT_BYTES + 10) + b'"}', "bytes"),
    ],
    ids=[
        "empty",
        "binary",
        "not-json",
        "array",
        "deep-json",
        "deep-object",
        "huge-number",
        "nan",
        "wrong-resource-type",
        "invalid-task",
        "searchset",
        "entries-without-resources",
        "oversized",
    ],
)
def test_malformed_input_is_one_line_and_exit_1(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    """Whatever the file holds, the answer is one line naming the problem."""
    path = tmp_path / "input.json"
    path.write_bytes(content)
    assert_one_line_error(invoke("decode", "fhir", str(path), "--source", HOSPITAL), fragment)


def test_a_missing_file_or_a_folder_is_one_line(tmp_path: Path) -> None:
    """File-system errors are reported like any other."""
    assert_one_line_error(invoke("decode", "fhir", str(tmp_path / "absent.json")), "absent.json")
    assert_one_line_error(invoke("decode", "fhir", str(tmp_path)), str(tmp_path))


def test_unknown_adapter_and_version_are_one_line(tmp_path: Path) -> None:
    """Only known adapters and r4/r5 are accepted."""
    path = write(tmp_path / "b.json", referral_bundle())
    assert_one_line_error(invoke("decode", "hl7v2", str(path)), "no adapter named 'hl7v2'")
    assert_one_line_error(invoke("decode", "fhir", str(path), "--fhir-version", "r3"), "r4 or r5")


@pytest.mark.skipif(
    not CORPUS.is_dir(), reason="the FHIR example corpus is not beside the repository"
)
def test_decode_on_the_whole_corpus_never_shows_a_traceback() -> None:
    """Every corpus file: events and exit 0, or one line and exit 1."""
    for path in sorted(CORPUS.glob("*/*/*.json")):
        result = invoke("decode", "fhir", str(path), "--source", "corpus-agency")
        if result.exit_code == 0:
            assert isinstance(json.loads(result.stdout), list)
        else:
            assert_one_line_error(result)


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_encode_prints_a_transaction_bundle(tmp_path: Path, version: str) -> None:
    """A structured CloudEvent file becomes a FHIR transaction Bundle of that version."""
    event = new_event(EXAMPLES[("referral.requested", 2)], source=HOSPITAL)
    path = write(tmp_path / "event.json", event.structured())
    result = invoke("encode", "fhir", str(path), "--fhir-version", version)
    assert result.exit_code == 0, result.stderr
    bundle = json.loads(result.stdout)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "transaction")
    assert bundle["identifier"]["value"] == event.id


def test_encode_then_decode_gives_the_event_back(tmp_path: Path) -> None:
    """The two commands are inverse on what FHIR carries."""
    event = new_event(EXAMPLES[("referral.status-changed", 1)], source=HOSPITAL)
    encoded = invoke("encode", "fhir", str(write(tmp_path / "e.json", event.structured())))
    bundle = write(tmp_path / "bundle.json", json.loads(encoded.stdout))
    decoded = json.loads(invoke("decode", "fhir", str(bundle), "--source", HOSPITAL).stdout)
    assert decoded[0]["data"] == event.data
    default_registry().contract_of(event)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"specversion": "1.0"}, "invalid fields"),
        ("not an event", "CloudEvent"),
    ],
)
def test_encode_refuses_a_broken_event_in_one_line(
    tmp_path: Path, document: Any, fragment: str
) -> None:
    """An event file that is no valid CloudEvent is one line."""
    result = invoke("encode", "fhir", str(write(tmp_path / "e.json", document)))
    assert_one_line_error(result, fragment)
