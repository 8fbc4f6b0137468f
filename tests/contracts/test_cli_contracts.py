"""``hub contracts``: list, export, check and validate, in process and as the installed command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.contracts import MAX_EVENT_BYTES, default_registry
from hub.contracts._uris import dataschema_uri
from hub.contracts.docs import example_event
from hub.contracts.registry import Contract

REPO = Path(__file__).resolve().parents[2]
COMMITTED_DOCS = REPO / "contracts-docs"
HUB = Path(sys.executable).with_name("hub")


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    """Run ``hub ARGS`` in process; any exception other than a clean exit is a failure."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def example_document(event_type: str = "referral.requested", version: int = 2) -> dict[str, Any]:
    contract = default_registry().get(event_type, version)
    return example_event(contract).structured()


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_help_lists_the_commands() -> None:
    """`hub --help` names the command groups and `hub contracts --help` each sub-command."""
    root = invoke("--help")
    assert root.exit_code == 0
    assert "contracts" in root.stdout
    assert "demo" in root.stdout
    group = invoke("contracts", "--help")
    assert group.exit_code == 0
    for command in ("list", "export", "check", "validate"):
        assert command in group.stdout


def test_list_shows_every_contract() -> None:
    """`hub contracts list` prints one row per type and version with mode and dataschema."""
    result = invoke("contracts", "list")
    assert result.exit_code == 0
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == len(list(default_registry()))
    for contract in default_registry():
        assert any(
            row.split()[:2] == [contract.event_type, f"v{contract.version}"]
            and contract.dataschema in row
            for row in rows
        )


def test_list_json_matches_the_registry() -> None:
    """`hub contracts list --json` is one JSON array describing every contract."""
    result = invoke("contracts", "list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {
            "type": contract.event_type,
            "version": contract.version,
            "compatibility": contract.compatibility.value,
            "dataschema": contract.dataschema,
        }
        for contract in default_registry()
    ]


def test_export_reproduces_the_committed_docs(tmp_path: Path) -> None:
    """`hub contracts export --out DIR` writes exactly the committed contracts-docs bytes."""
    result = invoke("contracts", "export", "--out", str(tmp_path / "docs"))
    assert result.exit_code == 0
    assert files_of(tmp_path / "docs") == files_of(COMMITTED_DOCS)
    assert result.stdout.startswith(f"wrote {len(files_of(COMMITTED_DOCS))} files to ")


def test_check_passes_on_the_repository() -> None:
    """`hub contracts check` exits 0 on the committed docs and compatible versions."""
    result = invoke("contracts", "check", "--docs", str(COMMITTED_DOCS))
    assert result.exit_code == 0, result.stderr
    assert "contracts check passed" in result.stdout


def test_check_names_an_edited_docs_file(tmp_path: Path) -> None:
    """`hub contracts check --docs COPY` exits 1 and names the hand-edited file as stale."""
    copy = tmp_path / "docs"
    shutil.copytree(COMMITTED_DOCS, copy)
    edited = copy / "referral.requested.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "A hand edit.\n", encoding="utf-8")
    result = invoke("contracts", "check", "--docs", str(copy))
    assert result.exit_code == 1
    assert f"error: {edited}: stale" in result.stderr.splitlines()
    assert "hub contracts export --out" in result.stderr


def test_check_names_a_missing_and_an_extra_docs_file(tmp_path: Path) -> None:
    """A deleted generated file is reported missing and a stray file as not generated."""
    copy = tmp_path / "docs"
    shutil.copytree(COMMITTED_DOCS, copy)
    (copy / "schemas" / "consent.granted" / "v1.json").unlink()
    (copy / "notes.md").write_text("stray\n", encoding="utf-8")
    result = invoke("contracts", "check", "--docs", str(copy))
    assert result.exit_code == 1
    assert f"{copy / 'schemas' / 'consent.granted' / 'v1.json'}: missing" in result.stderr
    assert f"{copy / 'notes.md'}: not generated" in result.stderr


@pytest.mark.parametrize(
    "contract", list(default_registry()), ids=lambda c: f"{c.event_type}-v{c.version}"
)
def test_validate_accepts_each_example(tmp_path: Path, contract: Contract) -> None:
    """`hub contracts validate FILE` exits 0 and prints the type and version of a valid event."""
    path = write_json(tmp_path / "event.json", example_event(contract).structured())
    result = invoke("contracts", "validate", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"valid: {contract.event_type} v{contract.version}\n"


def test_validate_names_every_offending_field(tmp_path: Path) -> None:
    """An invalid payload exits 1 and lists each bad field by its dotted path."""
    document = example_document()
    document["data"]["priority"] = "whenever"
    document["data"]["evidence"][1]["sha256"] = "not-a-hash"
    document["data"]["surprise"] = True
    path = write_json(tmp_path / "event.json", document)
    result = invoke("contracts", "validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "invalid: 3 field(s)"
    paths = {line.strip().split(":", 1)[0] for line in lines[1:]}
    assert paths == {"data.priority", "data.evidence.1.sha256", "data.surprise"}


def test_validate_names_bad_envelope_attributes(tmp_path: Path) -> None:
    """A malformed envelope exits 1 and names the offending attributes."""
    document = example_document()
    del document["type"]
    document["specversion"] = "0.3"
    result = invoke("contracts", "validate", str(write_json(tmp_path / "e.json", document)))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "invalid: 2 field(s)"
    assert {"type", "specversion"} <= {
        line.strip().split(":", 1)[0] for line in result.stderr.splitlines()[1:]
    }


def test_validate_names_extensions_the_hub_does_not_define(tmp_path: Path) -> None:
    """An event with a foreign extension exits 1 and names it."""
    document = example_document() | {"survivorphone": "+212600000111"}
    result = invoke("contracts", "validate", str(write_json(tmp_path / "e.json", document)))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "invalid: 1 field(s)"
    assert "survivorphone: not an extension the hub defines" in result.stderr


def test_validate_missing_file(tmp_path: Path) -> None:
    """A file that does not exist exits 1 with one line naming it."""
    missing = tmp_path / "absent.json"
    result = invoke("contracts", "validate", str(missing))
    assert_one_line_error(result, str(missing), "No such file")


def test_validate_non_json(tmp_path: Path) -> None:
    """A file that is not JSON exits 1 with one line saying so."""
    path = tmp_path / "event.json"
    path.write_text("specversion: 1.0\n", encoding="utf-8")
    assert_one_line_error(invoke("contracts", "validate", str(path)), "not JSON")


def test_validate_non_utf8(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 exit 1 with one line saying the file is not JSON."""
    path = tmp_path / "event.json"
    path.write_bytes(b'{"id": "\xff\xfe"}')
    assert_one_line_error(invoke("contracts", "validate", str(path)), "not JSON")


def test_validate_file_over_one_mebibyte(tmp_path: Path) -> None:
    """A file over 1 MiB exits 1 with one line giving the limit, whatever it holds."""
    document = example_document()
    document["data"]["narrative"] = "x" * MAX_EVENT_BYTES
    path = write_json(tmp_path / "big.json", document)
    assert path.stat().st_size > MAX_EVENT_BYTES
    assert_one_line_error(invoke("contracts", "validate", str(path)), str(MAX_EVENT_BYTES))


def test_validate_unknown_type(tmp_path: Path) -> None:
    """An event type the registry does not know exits 1 with one line naming it."""
    document = example_document()
    document["type"] = "referral.teleported"
    document["dataschema"] = dataschema_uri("referral.teleported", 1)
    path = write_json(tmp_path / "event.json", document)
    assert_one_line_error(
        invoke("contracts", "validate", str(path)), "unknown event type", "referral.teleported"
    )


def test_validate_unknown_version(tmp_path: Path) -> None:
    """A dataschema naming v9 of a known type exits 1 with one line naming the version."""
    document = example_document()
    document["dataschema"] = dataschema_uri("referral.requested", 9)
    path = write_json(tmp_path / "event.json", document)
    assert_one_line_error(
        invoke("contracts", "validate", str(path)), "unknown version", "v9", "referral.requested"
    )


def test_validate_reads_stdin() -> None:
    """`hub contracts validate -` reads the event from standard input."""
    result = invoke("contracts", "validate", "-", stdin=json.dumps(example_document()).encode())
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "valid: referral.requested v2\n"


def test_validate_rejects_non_json_on_stdin() -> None:
    """Garbage on standard input exits 1 with one line, as for a file."""
    assert_one_line_error(invoke("contracts", "validate", "-", stdin=b"\x00garbage"), "not JSON")


def test_validate_deeply_nested_json(tmp_path: Path) -> None:
    """JSON nested deeper than the parser allows exits 1 with one line, not a traceback."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    assert_one_line_error(invoke("contracts", "validate", str(path)), "not JSON")


def test_validate_integer_too_long_to_convert(tmp_path: Path) -> None:
    """A number with more digits than Python converts exits 1 with one line, not a traceback."""
    path = tmp_path / "long.json"
    path.write_text('{"id": ' + "1" * 5000 + "}", encoding="utf-8")
    assert_one_line_error(invoke("contracts", "validate", str(path)), "not JSON")


def run_hub(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUB), *args],
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not HUB.is_file(), reason=f"no console script at {HUB}")
def test_installed_command_end_to_end(tmp_path: Path) -> None:
    """The `hub` console script lists, checks the repo, exports, and validates in a subprocess."""
    help_text = run_hub("--help", cwd=REPO)
    assert help_text.returncode == 0, help_text.stderr
    assert "contracts" in help_text.stdout

    listing = run_hub("contracts", "list", cwd=REPO)
    assert listing.returncode == 0, listing.stderr
    assert "referral.requested" in listing.stdout

    check = run_hub("contracts", "check", cwd=REPO)
    assert check.returncode == 0, check.stderr

    export = run_hub("contracts", "export", "--out", str(tmp_path / "docs"), cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert files_of(tmp_path / "docs") == files_of(COMMITTED_DOCS)

    valid = run_hub(
        "contracts", "validate", "-", cwd=tmp_path, stdin=json.dumps(example_document()).encode()
    )
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout == "valid: referral.requested v2\n"

    missing = run_hub("contracts", "validate", "absent.json", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: absent.json: ")
    assert len(missing.stderr.splitlines()) == 1
    assert "Traceback" not in missing.stderr
