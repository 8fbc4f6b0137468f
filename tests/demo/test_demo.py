"""``hub demo`` end to end, then the auditor's tools on the store it leaves behind."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HUB = str(Path(sys.executable).with_name("hub"))

pytestmark = pytest.mark.integration


def _hub(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    database = tmp_path_factory.mktemp("demo") / "hub.db"
    result = _hub("demo", "--referrals", "40", "--database", f"sqlite:///{database}", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout), database


def test_demo_loses_and_duplicates_nothing(demo_run: tuple[dict[str, Any], Path]) -> None:
    """Every expected delivery reaches its agency exactly once, by the agencies' own count."""
    summary, _ = demo_run
    assert summary["referrals"] == 40
    assert summary["lost"] == 0
    assert summary["duplicates"] == 0
    assert summary["unexpected"] == 0
    assert summary["events_delivered"] == summary["expected_deliveries"] > 0
    assert summary["settled"] is True


def test_social_services_take_part_through_their_own_database(
    demo_run: tuple[dict[str, Any], Path],
) -> None:
    """Entraide Nationale's application reads its deliveries from its own database."""
    summary, _ = demo_run
    assert summary["received_through_databases"]["entraide-nationale-casablanca"] > 0


COURTS = ("tpi-casablanca-listening-unit", "parquet-casablanca")


def test_courts_take_part_through_registry_files(demo_run: tuple[dict[str, Any], Path]) -> None:
    """The court registries read every delivery from files and acknowledge them by ack file."""
    summary, database = demo_run
    with sqlite3.connect(database) as conn:
        for court in COURTS:
            (kept,) = conn.execute(
                "SELECT count(*) FROM inbox WHERE agency_id = ?", (court,)
            ).fetchone()
            (acks,) = conn.execute(
                "SELECT count(*) FROM audit_entries WHERE action = 'acknowledged' "
                "AND actor = ? AND details LIKE '%court-files%'",
                (court,),
            ).fetchone()
            assert summary["received_through_files"][court] == kept > 0
            assert acks > 0
    assert summary["refused_court_records"] == 0
    assert summary["agency_errors"] == 0


def test_demo_consent_withholds_and_never_leaks(demo_run: tuple[dict[str, Any], Path]) -> None:
    """Partial consents block some deliveries and withhold fields, and nothing leaks."""
    summary, _ = demo_run
    assert summary["leaks"] == 0
    assert summary["consent_blocked"] > 0
    assert summary["fields_withheld"] > 0
    assert summary["withdrawals"] >= 1
    assert summary["overrides"] >= 1


def test_demo_summary_reports_pathway_steps_and_time_limit_breaches(
    demo_run: tuple[dict[str, Any], Path],
) -> None:
    """The summary counts the referrals opened per pathway step and the time limits breached."""
    summary, database = demo_run
    with sqlite3.connect(database) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM referrals").fetchone()
    opened = sum(step.get("requested", 0) for step in summary["pathway_steps"].values())

    assert opened == stored > 0
    assert isinstance(summary["time_limit_breaches"], int)
    assert summary["time_limit_breaches"] >= 0


def test_audit_of_the_demo_verifies_and_reports_no_violation(
    demo_run: tuple[dict[str, Any], Path],
) -> None:
    """The demo's audit log verifies and every disclosure was covered when it happened."""
    _, database = demo_run
    verified = _hub("audit", "verify", "--database", f"sqlite:///{database}")
    assert verified.returncode == 0, verified.stderr
    assert "verified" in verified.stdout
    report = _hub("audit", "report", "consent", "--database", f"sqlite:///{database}")
    assert report.returncode == 0, report.stdout + report.stderr


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_altering_one_audit_row_is_named(
    demo_run: tuple[dict[str, Any], Path], tmp_path: Path, tamper: str
) -> None:
    """Editing or deleting a single audit row with sqlite3 makes verify fail and name it."""
    _, database = demo_run
    copy = tmp_path / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        original = database.with_name(database.name + suffix)
        if original.exists():
            copy.with_name(copy.name + suffix).write_bytes(original.read_bytes())
    with sqlite3.connect(copy) as conn:
        entry_id, chain_id = conn.execute(
            "SELECT entry_id, chain_id FROM audit_entries WHERE chain_id LIKE 'referral:%' "
            "ORDER BY chain_id, seq LIMIT 1 OFFSET 3"
        ).fetchone()
        if tamper == "edit":
            conn.execute(
                "UPDATE audit_entries SET actor = 'someone-else' WHERE entry_id = ?", (entry_id,)
            )
        else:
            conn.execute("DELETE FROM audit_entries WHERE entry_id = ?", (entry_id,))
    result = _hub("audit", "verify", "--database", f"sqlite:///{copy}")
    assert result.returncode == 1
    named = result.stdout + result.stderr
    assert chain_id in named
    assert "Traceback" not in named
