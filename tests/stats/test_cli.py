"""``hub stats export``: one JSON document or one CSV table, small counts reading "<5"."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app as hub_cli
from hub.store import Store, referrals, statistics

NOW = datetime.now(UTC)


def _store(path: Path, violences: list[str]) -> str:
    url = f"sqlite:///{path / 'hub.db'}"
    with Store.open(url) as store, store.transaction() as conn:
        for number, violence in enumerate(violences):
            referral_id = f"ref-{number}"
            referrals.insert_referrals(
                conn,
                [
                    referrals.ReferralRow(
                        referral_id=referral_id,
                        from_agency="hospital-a",
                        to_agency="court-a",
                        subject_id=f"sub_{number:032x}",
                        consent_id=f"cns-{number}",
                        service="court-listening-unit",
                        priority="urgent",
                        status="requested",
                        due_by=NOW + timedelta(hours=72),
                        pathway_step="hospital-to-court",
                        created_at=NOW,
                        updated_at=NOW,
                        version=1,
                    )
                ],
            )
            statistics.record_referrals(
                conn,
                [statistics.CountedReferral(referral_id, NOW, violence, False, "25-39", None)],
            )
    return url


ARGS = ["stats", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--by", "violence"]


def test_json_export_shows_small_counts_as_below_threshold(tmp_path: Path) -> None:
    """Six rapes and two physical assaults: "6" stays, "2" reads "<5", and its complement hides."""
    url = _store(tmp_path, ["rape"] * 6 + ["physical-assault"] * 2 + ["forced-marriage"] * 7)
    result = CliRunner().invoke(hub_cli, [*ARGS, "--format", "json", "--database", url])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    cells = {row["violence"]: row["referrals"] for row in document["referrals"]}
    assert cells["physical-assault"] == "<5"
    assert cells["total"] == 15
    # Alone, "<5" would be 15 - 6 - 7: another cell is hidden with it.
    assert sorted(str(cells[k]) for k in ("rape", "forced-marriage")).count("x") == 1


def test_csv_export_and_a_bad_dimension(tmp_path: Path) -> None:
    """CSV rows name their table and value; an unknown dimension is a one-line error."""
    url = _store(tmp_path, ["rape"] * 5)
    result = CliRunner().invoke(hub_cli, [*ARGS, "--format", "csv", "--database", url])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {"table": "referrals", "violence": "rape", "value": "5"}.items() <= rows[0].items()
    bad = CliRunner().invoke(
        hub_cli,
        [
            "stats",
            "export",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--by",
            "religion",
            "--database",
            url,
        ],
    )
    assert bad.exit_code == 2
    assert "--by takes one or more of" in bad.output
    assert "Traceback" not in bad.output
