"""``hub audit …`` and ``hub erase`` through the command line, as auditors use them."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import insert
from typer.testing import CliRunner, Result

from hub.audit import (
    AuditAction,
    AuditRecorder,
    Signer,
    decrypt_payload,
    disclosure_details,
    encrypt_payload,
    generate_seed,
    load_public_key,
    public_key_b64,
)
from hub.audit.chain import next_entry
from hub.cli import audit as audit_cli
from hub.store import AuditEntryRow, Store
from hub.store.schema import audit_entries
from tests.audit.helpers import T0, at, populate, record_consent, scope


def _root() -> typer.Typer:
    """The two registrations the ``hub`` command makes."""
    root = typer.Typer(pretty_exceptions_enable=False)
    root.add_typer(audit_cli.app, name="audit")
    root.command("erase")(audit_cli.erase)
    return root


def invoke(*args: str) -> Result:
    """Run ``hub ARGS`` in process; any exception other than a clean exit is a failure."""
    result = CliRunner().invoke(_root(), list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "a.db"


@pytest.fixture
def url(db: Path) -> str:
    return f"sqlite:///{db}"


@pytest.fixture
def opened(url: str) -> Store:
    store = Store.open(url)
    yield store  # type: ignore[misc]
    store.close()


@pytest.fixture
def logged(opened: Store, recorder: AuditRecorder) -> Store:
    """A store holding a small signed log and one consent."""
    record_consent(opened, "c1", scopes=[scope(agency="court-b")], when=at(0))
    populate(opened, recorder)
    return opened


def _config(tmp_path: Path, **audit: Any) -> Path:
    path = tmp_path / "hub.toml"
    lines = ["[audit]"] + [f"{key} = {json.dumps(value)}" for key, value in audit.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- verify ----------------------------------------------------------------------


def test_verify_passes_with_the_public_key(logged: Store, url: str, signer: Signer) -> None:
    """An untouched log: exit 0, counts, and the key the signatures were checked with."""
    result = invoke(
        "audit", "verify", "--database", url, "--public-key", public_key_b64(signer.public_key)
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "9 entries in 5 chains, 1 checkpoints: verified"
    assert signer.key_id in lines[1]


def test_verify_derives_the_key_from_the_configuration(
    logged: Store, url: str, tmp_path: Path
) -> None:
    """Without --public-key, the configured signing key's public half is used."""
    other = _config(tmp_path, signing_key=generate_seed())
    result = invoke("audit", "verify", "--database", url, "--config", str(other))
    assert_one_line_error(result, "checkpoint", "signed with key")


def test_verify_without_any_key_says_signatures_were_not_checked(logged: Store, url: str) -> None:
    """With no key at all the chains are verified and the output says what was not."""
    result = invoke("audit", "verify", "--database", url)
    assert result.exit_code == 0, result.output
    assert "NOT checked" in result.stdout


def test_verify_names_a_row_altered_with_sqlite3(
    logged: Store, db: Path, url: str, signer: Signer
) -> None:
    """An auditor's sqlite3 edit of one entry fails verify, naming chain, seq and entry."""
    logged.close()
    with sqlite3.connect(db) as raw:
        entry_id = raw.execute(
            "SELECT entry_id FROM audit_entries WHERE chain_id = 'referral:r1' AND seq = 2"
        ).fetchone()[0]
        raw.execute(
            "UPDATE audit_entries SET details = json_set(details, '$.recipient', 'police-d') "
            "WHERE chain_id = 'referral:r1' AND seq = 2"
        )
    raw.close()
    result = invoke(
        "audit", "verify", "--database", url, "--public-key", public_key_b64(signer.public_key)
    )
    assert_one_line_error(
        result, "chain referral:r1", "seq 2", f"entry {entry_id}", "hash mismatch"
    )
    assert entry_id in result.stdout


def test_verify_reports_progress_on_long_logs(opened: Store, url: str) -> None:
    """Every 10k entries verify says how far it got, on stderr."""
    head: AuditEntryRow | None = None
    rows: list[dict[str, Any]] = []
    for n in range(10_001):
        head = next_entry(
            head,
            chain_id="referral:big",
            entry_id=f"e{n}",
            action=AuditAction.ROUTED,
            actor="hub",
            at=T0,
            referral_id="big",
        )
        rows.append({name: getattr(head, name) for name in AuditEntryRow.__dataclass_fields__})
    with opened.transaction() as conn:
        conn.execute(insert(audit_entries), rows)
    result = invoke("audit", "verify", "--database", url)
    assert result.exit_code == 0, result.output
    assert "verify: 10000 entries read" in result.stderr


# -- replay and report -------------------------------------------------------------


def test_replay_formats(logged: Store, url: str) -> None:
    """replay prints a table, JSON or CSV of the entries in time order."""
    table = invoke("audit", "replay", "--database", url, "--referral", "r1")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].startswith("AT")
    assert len(table.stdout.splitlines()) == 4
    document = json.loads(invoke("audit", "replay", "--database", url, "--format", "json").stdout)
    assert [item["at"] for item in document] == sorted(item["at"] for item in document)
    assert document[0]["consent_in_force"]["status"] == "active"
    rows = list(
        csv.DictReader(
            io.StringIO(
                invoke(
                    "audit", "replay", "--database", url, "--format", "csv", "--agency", "operator"
                ).stdout
            )
        )
    )
    assert [row["action"] for row in rows] == ["agency-added"]
    window = invoke(
        "audit",
        "replay",
        "--database",
        url,
        "--since",
        "2026-03-01T09:02",
        "--until",
        "2026-03-01T09:04:00+00:00",
        "--format",
        "json",
    )
    assert len(json.loads(window.stdout)) == 2


def test_report_consent_lists_violations_and_exits_1(
    logged: Store, url: str, recorder: AuditRecorder
) -> None:
    """A disclosure outside the consent's scope makes the report fail, listing it."""
    clean = invoke("audit", "report", "consent", "--database", url)
    assert clean.exit_code == 0, clean.output
    assert "6 disclosures checked: 0 not covered" in clean.stdout
    with logged.transaction() as conn:
        bad = recorder.record(
            conn,
            action=AuditAction.DELIVERED,
            actor="hub",
            at=at(30),
            referral_id="r1",
            consent_id="c1",
            details=disclosure_details(
                recipient="court-b", disclosed=["medical"], purpose="justice"
            ),
        )
    result = invoke("audit", "report", "consent", "--database", url)
    assert_one_line_error(result, "1 not covered by consent")
    assert bad.entry_id in result.stdout
    assert "categories-outside-scope" in result.stdout
    document = json.loads(
        invoke("audit", "report", "consent", "--database", url, "--format", "json").stdout
    )
    assert [v["entry_id"] for v in document["violations"]] == [bad.entry_id]
    rows = list(
        csv.DictReader(
            io.StringIO(
                invoke("audit", "report", "consent", "--database", url, "--format", "csv").stdout
            )
        )
    )
    assert [(row["kind"], row["reason"]) for row in rows] == [
        ("violation", "categories-outside-scope")
    ]


# -- keys, checkpoints, erasure ---------------------------------------------------------


def test_keygen_prints_a_seed_and_its_public_key() -> None:
    """keygen's first line is a usable seed, its second the matching public key."""
    result = invoke("audit", "keygen")
    assert result.exit_code == 0
    seed, public = result.stdout.splitlines()
    signer = Signer.from_seed(seed)
    assert public_key_b64(signer.public_key) == public
    assert load_public_key(public) is not None
    assert signer.key_id in result.stderr


def test_checkpoint_command(logged: Store, url: str, tmp_path: Path) -> None:
    """checkpoint writes a signed checkpoint now, and refuses an unsigned one after it."""
    seed = generate_seed()
    config = _config(tmp_path, signing_key=seed)
    result = invoke("audit", "checkpoint", "--database", url, "--config", str(config))
    assert result.exit_code == 0, result.output
    assert f"signed with key {Signer.from_seed(seed).key_id}" in result.stdout
    # Only the hub chain advanced since the log's checkpoint: it noted that checkpoint.
    assert result.stdout.startswith("checkpoint 2 over 1 chains")
    unsigned = invoke("audit", "checkpoint", "--database", url)
    assert_one_line_error(unsigned, "checkpoint 2 is signed", "audit.signing_key")


def test_erase_destroys_the_key_and_keeps_the_proof(
    logged: Store, url: str, signer: Signer
) -> None:
    """hub erase makes the subject's payloads unreadable; verify still passes."""
    with logged.transaction() as conn:
        envelope = encrypt_payload(conn, "subject-1", {"narrative": "x"}, at=at(0))
    result = invoke("erase", "--subject", "subject-1", "--database", url)
    assert result.exit_code == 0, result.output
    assert "subject-1 erased" in result.stdout
    with logged.transaction() as conn:
        assert decrypt_payload(conn, envelope) is None
    verified = invoke(
        "audit", "verify", "--database", url, "--public-key", public_key_b64(signer.public_key)
    )
    assert verified.exit_code == 0, verified.output


# -- one-line errors ----------------------------------------------------------------------

COMMANDS = [
    ("audit", "verify"),
    ("audit", "replay"),
    ("audit", "report", "consent"),
    ("audit", "checkpoint"),
    ("erase", "--subject", "s-1"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_sqlite_database_is_one_line(command: tuple[str, ...]) -> None:
    """A SQLite path with no database is an error, and no empty database is created."""
    result = invoke(*command, "--database", "sqlite:////nonexistent/dir/x.db")
    assert_one_line_error(result, "no database at /nonexistent/dir/x.db")
    assert not Path("/nonexistent/dir").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_unreachable_postgres_is_one_line(command: tuple[str, ...]) -> None:
    """A PostgreSQL server that cannot be reached is an error in one line."""
    result = invoke(*command, "--database", "postgresql://127.0.0.1:1/x")
    assert_one_line_error(result, "store unavailable")


def test_database_without_hub_schema_is_one_line(tmp_path: Path) -> None:
    """A SQLite file that is not a hub store is refused rather than read as an empty log."""
    empty = tmp_path / "other.db"
    sqlite3.connect(empty).close()
    result = invoke("audit", "verify", "--database", f"sqlite:///{empty}")
    assert_one_line_error(result, "no hub schema")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("audit", "replay", "--since", "yesterday"), "--since: 'yesterday'"),
        (("audit", "replay", "--until", "2026-13-01"), "--until"),
        (("audit", "replay", "--format", "xml"), "--format: 'xml'"),
        (("audit", "report", "consent", "--format", "pdf"), "--format"),
        (
            ("audit", "report", "consent", "--since", "2026-03-02", "--until", "2026-03-01"),
            "before",
        ),
        (("audit", "verify", "--public-key", "junk"), "--public-key"),
        (("erase", "--subject", " "), "--subject"),
    ],
)
def test_bad_arguments_are_one_line(
    logged: Store, url: str, args: tuple[str, ...], fragment: str
) -> None:
    """Unparseable times, unknown formats and bad keys are answered in one line, exit 1."""
    assert_one_line_error(invoke(*args, "--database", url), fragment)


def test_broken_configuration_is_one_line(logged: Store, url: str, tmp_path: Path) -> None:
    """A malformed signing key in the configuration is named in one line."""
    config = _config(tmp_path, signing_key="not-a-key")
    for command in (("audit", "verify"), ("audit", "checkpoint"), ("erase", "--subject", "s")):
        result = invoke(*command, "--database", url, "--config", str(config))
        assert_one_line_error(result, "audit.signing_key")
