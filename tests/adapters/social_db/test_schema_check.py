"""Schema drift: the agency's tables compared with the mapping, at start-up and from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
from typer.testing import CliRunner

from hub.adapters.social_db import AgencyDatabase, check_schema
from hub.adapters.social_db.example import example_mapping, example_tables
from hub.cli import app as cli
from tests.adapters.social_db.conftest import AGENCY, URL_ENV, make_agency_database
from tests.support import token_hash


def drifted_tables() -> MetaData:
    """The example tables after an upgrade: a column renamed, one retyped, the key dropped."""
    metadata = MetaData()
    for table in example_tables().sorted_tables:
        columns = []
        for column in table.columns:
            if table.name == "case_referrals" and column.name == "motive":
                columns.append(Column("motif", String(500)))
            elif table.name == "case_referrals" and column.name == "due_date":
                columns.append(Column("due_date", Integer))
            elif table.name == "hub_received" and column.name == "event_id":
                columns.append(Column("event_id", String(64), nullable=False))
            else:
                columns.append(
                    Column(
                        column.name,
                        column.type,
                        primary_key=column.primary_key,
                        nullable=column.nullable,
                    )
                )
        if table.name == "hub_received":
            columns.insert(0, Column("id", Integer, primary_key=True, autoincrement=True))
        Table(table.name, metadata, *columns)
    return metadata


def test_tables_that_match_the_mapping_report_nothing(
    agency_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example schema and its mapping agree on every backend."""
    database, _app = make_agency_database(agency_url, monkeypatch)

    assert check_schema(database) == []


def test_every_mismatch_is_named(agency_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A renamed column, a retyped one and an inbound key that is not unique are each reported."""
    app = create_engine(agency_url)
    drifted_tables().create_all(app)
    monkeypatch.setenv(URL_ENV, agency_url)
    database = AgencyDatabase.connect(AGENCY, example_mapping(URL_ENV))

    found = {str(mismatch) for mismatch in check_schema(database)}

    assert "case_referrals.motive: no such column (mapped to reason)" in found
    assert any(m.startswith("case_referrals.due_date: due_by needs a date-time") for m in found)
    assert any(m.startswith("hub_received.event_id: holds the event id") for m in found)
    assert len(found) == 3


def test_a_missing_table_is_reported(agency_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database without the mapped tables says which ones are missing."""
    monkeypatch.setenv(URL_ENV, agency_url)
    create_engine(agency_url).connect().close()
    database = AgencyDatabase.connect(AGENCY, example_mapping(URL_ENV))

    found = {str(mismatch) for mismatch in check_schema(database)}

    assert found == {
        "case_referrals: no such table or view",
        "case_status_updates: no such table or view",
        "case_outcomes: no such table or view",
        "hub_received: no such table",
    }


def _config(tmp_path: Path) -> Path:
    """A hub configuration naming the agency with the example mapping."""
    mapping = example_mapping(URL_ENV).model_dump(mode="json", exclude_none=True)
    lines = [
        "[[agencies]]",
        f'id = "{AGENCY}"',
        'name = "Entraide Nationale"',
        'kind = "social-services"',
        'region = "casablanca-settat"',
        f'token_sha256 = "{token_hash("t")}"',
        f"delivery = {_inline(mapping)}",
    ]
    path = tmp_path / "hub.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _inline(value: object) -> str:
    """A JSON-like value as TOML inline syntax (strings, numbers, arrays, tables)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return json.dumps(value)


def test_the_cli_check_lists_each_mismatch_and_exits_1(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`hub adapters check social-db` names every mismatch, one a line, exit 1; exit 0 when fine."""
    drifted_tables().create_all(create_engine(agency_url))
    monkeypatch.setenv(URL_ENV, agency_url)
    config = _config(tmp_path)
    runner = CliRunner()

    drifted = runner.invoke(
        cli, ["adapters", "check", "social-db", "--config", str(config), "--agency", AGENCY]
    )

    assert drifted.exit_code == 1
    assert f"{AGENCY}: case_referrals.motive: no such column" in drifted.stderr
    assert "Traceback" not in drifted.output


def test_the_cli_check_passes_on_a_matching_database(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A database that matches its mapping passes the check with exit 0."""
    make_agency_database(agency_url, monkeypatch)
    config = _config(tmp_path)

    result = CliRunner().invoke(
        cli, ["adapters", "check", "social-db", "--config", str(config), "--agency", AGENCY]
    )

    assert result.exit_code == 0, result.output
    assert "4 tables match the mapping" in result.output
