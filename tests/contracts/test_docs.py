"""The generated contract docs: reproducible, current, valid, accepted by the AsyncAPI parser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hub.adapters.court.docs import court_docs
from hub.contracts import default_registry, field_categories
from hub.contracts.categories import UNCATEGORISED_KEY
from hub.contracts.checks import stale_docs
from hub.contracts.docs import ASYNCAPI_FILE, export_docs, page_path, schema_path
from hub.contracts.envelope import parse_structured
from hub.contracts.registry import Contract
from hub.observability.catalogue import metrics_docs

REPO = Path(__file__).resolve().parents[2]
COMMITTED_DOCS = REPO / "contracts-docs"
VALIDATE_SCRIPT = Path(__file__).with_name("asyncapi_validate.mjs")
PARSER_PACKAGE = "@asyncapi/parser@^3"
PARSER_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "referral-hub"
    / "asyncapi-parser"
)
# npm's own words for "the registry could not be reached".
NETWORK_ERRORS = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network",
    re.IGNORECASE,
)
EXPECTED_CHANNELS = {
    "hub.ingress",
    "agency.{agencyId}.inbox",
    "agency.{agencyId}.dlq",
    "hub.ingress.dlq",
    "hub.audit",
}

CONTRACTS = list(default_registry())
EVENT_TYPES = default_registry().types()


def contract_id(contract: Contract) -> str:
    return f"{contract.event_type}-v{contract.version}"


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def page_examples(page: str) -> dict[int, dict[str, Any]]:
    """Version to the structured CloudEvent shown under ``### vN`` in the Examples section."""
    examples_section = page.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^### v(\d+)\n\n```json\n(.*?)\n```$", examples_section, re.M | re.S)
    return {int(version): json.loads(text) for version, text in blocks}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contracts-docs")
    export_docs(default_registry(), out)
    return out


def test_export_twice_gives_identical_bytes(tmp_path: Path) -> None:
    """Two exports into different folders write the same files, byte for byte."""
    first, second = tmp_path / "first", tmp_path / "second"
    written = export_docs(default_registry(), first)
    export_docs(default_registry(), second)
    assert files_of(first) == files_of(second)
    assert sorted(written) == sorted(path for path in first.rglob("*") if path.is_file())


def test_export_is_plain_text_without_local_paths(exported: Path) -> None:
    """Every file uses \\n line endings, ends with one newline and names no local path."""
    for name, content in files_of(exported).items():
        text = content.decode("utf-8")
        assert "\r" not in text, name
        assert text.endswith("\n"), name
        assert not text.endswith("\n\n"), name
        assert str(exported) not in text, name
        assert str(REPO) not in text, name


def test_committed_docs_equal_a_fresh_export() -> None:
    """The committed contracts-docs folder is what `hub contracts check` accepts as current."""
    registry = default_registry()
    extra = {**court_docs(registry), **metrics_docs()}
    assert stale_docs(registry, COMMITTED_DOCS, extra) == []


def test_export_writes_every_expected_file(exported: Path) -> None:
    """One schema per contract, one page per type, the AsyncAPI document and the index."""
    expected = {schema_path(contract) for contract in CONTRACTS}
    expected |= {page_path(event_type) for event_type in EVENT_TYPES}
    expected |= {ASYNCAPI_FILE, "README.md"}
    assert set(files_of(exported)) == expected


@pytest.mark.parametrize("contract", CONTRACTS, ids=contract_id)
def test_schema_is_valid_draft_2020_12_with_dataschema_id(
    exported: Path, contract: Contract
) -> None:
    """Each exported schema passes the 2020-12 metaschema and its $id is the dataschema URI."""
    schema = json.loads((exported / schema_path(contract)).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == contract.dataschema
    assert schema == contract.json_schema()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_page_examples_validate_against_schema_and_model(exported: Path, event_type: str) -> None:
    """Every example on a page is valid for jsonschema and for the pydantic contract."""
    registry = default_registry()
    examples = page_examples((exported / page_path(event_type)).read_text(encoding="utf-8"))
    assert set(examples) == set(registry.versions(event_type))
    for version, document in examples.items():
        contract = registry.get(event_type, version)
        schema = json.loads((exported / schema_path(contract)).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator(schema).validate(document["data"])
        event = parse_structured(json.dumps(document))
        assert registry.contract_of(event) is contract
        assert registry.parse(event) == contract.example


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_page_lists_every_field_with_its_category(exported: Path, event_type: str) -> None:
    """The field table gives each categorised field its category, the rest 'routing', and
    free text outside the categories on purpose 'routing text' with the reason."""
    page = (exported / page_path(event_type)).read_text(encoding="utf-8")
    latest = default_registry().latest(event_type)
    for name, category in field_categories(latest.model).items():
        label = category.value if category is not None else "routing"
        extra = latest.model.model_fields[name].json_schema_extra
        if isinstance(extra, dict) and UNCATEGORISED_KEY in extra:
            label = f"routing text ({extra[UNCATEGORISED_KEY]})"
        row = re.compile(rf"^\| `{re.escape(name)}` \|[^\n]*\| {re.escape(label)} \|", re.M)
        assert row.search(page), f"{event_type}: no row for {name} ({label})"


def test_referral_pages_show_the_status_transitions(exported: Path) -> None:
    """Referral pages carry the transition table; other pages do not."""
    for event_type in EVENT_TYPES:
        page = (exported / page_path(event_type)).read_text(encoding="utf-8")
        has_table = "## Status transitions" in page
        assert has_table == event_type.startswith("referral."), event_type
        if has_table:
            assert (
                "| `requested` | `received`, `accepted`, `rejected`, `cancelled`, `failed` |"
                in page
            )


def test_two_version_page_reports_the_compatibility_classification(exported: Path) -> None:
    """referral.requested shows v2's change notes and its classified compatibility."""
    page = (exported / page_path("referral.requested")).read_text(encoding="utf-8")
    changes = page.split("## Changes between versions", 1)[1]
    assert default_registry().get("referral.requested", 2).changes in changes
    assert "Classified v1 → v2: **BACKWARD**; keeps the declared BACKWARD mode." in changes


def test_index_links_every_page_schema_and_the_asyncapi_document(exported: Path) -> None:
    """README.md links each page, each schema and asyncapi.yaml, and says how to regenerate."""
    index = (exported / "README.md").read_text(encoding="utf-8")
    targets = set(re.findall(r"\]\(([^)]+)\)", index))
    assert {page_path(event_type) for event_type in EVENT_TYPES} <= targets
    assert {schema_path(contract) for contract in CONTRACTS} <= targets
    assert ASYNCAPI_FILE in targets
    assert "hub contracts export --out contracts-docs" in index
    assert "hub contracts check" in index


def test_asyncapi_document_lists_the_channels(exported: Path) -> None:
    """asyncapi.yaml is AsyncAPI 3.0.0 YAML with the hub's channels, server and operations."""
    document = yaml.safe_load((exported / ASYNCAPI_FILE).read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert {channel["address"] for channel in document["channels"].values()} == EXPECTED_CHANNELS
    assert [server["protocol"] for server in document["servers"].values()] == ["kafka"]
    actions = {operation["action"] for operation in document["operations"].values()}
    assert actions == {"send", "receive"}


def test_asyncapi_messages_reference_the_exported_schemas(exported: Path) -> None:
    """Each contract's message payload points at its exported schema file."""
    messages = yaml.safe_load((exported / ASYNCAPI_FILE).read_text(encoding="utf-8"))["components"][
        "messages"
    ]
    for contract in CONTRACTS:
        payload = messages[f"{contract.event_type}.v{contract.version}"]["payload"]
        assert payload["schemaFormat"] == "application/schema+json;version=draft-2020-12"
        assert payload["schema"]["$ref"] == f"./{schema_path(contract)}"
        assert (exported / schema_path(contract)).is_file()


def install_parser() -> Path:
    """The cached @asyncapi/parser install, made on first use; skips when it cannot be made."""
    if (PARSER_CACHE / "node_modules" / "@asyncapi" / "parser" / "package.json").is_file():
        return PARSER_CACHE
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot install @asyncapi/parser")
    PARSER_CACHE.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(PARSER_CACHE), "--no-audit", "--no-fund"]
    try:
        done = subprocess.run(
            [*command, PARSER_PACKAGE], capture_output=True, text=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install @asyncapi/parser timed out (no network?)")
    if done.returncode != 0:
        output = done.stdout + done.stderr
        network = [line for line in output.splitlines() if NETWORK_ERRORS.search(line)]
        if network:
            pytest.skip(f"npm install @asyncapi/parser failed for lack of network: {network[0]}")
        pytest.fail(f"npm install @asyncapi/parser failed:\n{output}")
    return PARSER_CACHE


def run_official_parser(document: Path) -> tuple[int, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the official AsyncAPI parser")
    prefix = install_parser()
    done = subprocess.run(
        [node, str(VALIDATE_SCRIPT), str(prefix), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.timeout(600)
def test_official_asyncapi_parser_reports_no_errors(exported: Path) -> None:
    """@asyncapi/parser parses asyncapi.yaml, $refs resolved, with no error diagnostic."""
    code, report = run_official_parser(exported / ASYNCAPI_FILE)
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert errors == []
    assert report["parsed"] is True
    assert code == 0


@pytest.mark.timeout(600)
def test_official_asyncapi_parser_catches_a_broken_schema_ref(
    exported: Path, tmp_path: Path
) -> None:
    """The parser check can fail: a $ref to a missing schema file is an error diagnostic."""
    broken = tmp_path / "docs"
    shutil.copytree(exported, broken)
    document = broken / ASYNCAPI_FILE
    text = document.read_text(encoding="utf-8")
    document.write_text(text.replace("./schemas/consent.granted/v1.json", "./schemas/gone.json"))
    code, report = run_official_parser(document)
    assert code == 1
    assert any(
        d["severity"] == "error" and d["code"] == "invalid-ref" for d in report["diagnostics"]
    )
