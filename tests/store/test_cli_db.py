"""``hub db upgrade|current|history``, and ``hub run`` refusing a schema older than its code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.store import create_store_engine, current_version, migrate
from hub.store.migrations import head_revision, history

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "casablanca-settat.toml"
PREVIOUS = history()[-2].revision


@pytest.fixture(autouse=True)
def _logging_kept() -> Iterator[None]:
    """Should ``hub run`` get as far as configuring logging, later tests keep theirs."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def hub(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result


def _at(url: str, revision: str) -> None:
    engine = create_store_engine(url)
    try:
        migrate(engine, target=revision)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_store_engine(url)
    try:
        return current_version(engine)
    finally:
        engine.dispose()


def test_upgrade_then_current_on_an_empty_database(store_url: str) -> None:
    """`hub db upgrade` creates the schema, says what it applied; `current` then shows the head."""
    upgraded = hub("db", "upgrade", "--database", store_url)
    assert upgraded.exit_code == 0, upgraded.output
    revisions = ", ".join(step.revision for step in history())
    assert upgraded.stdout == f"upgraded to {head_revision()}: applied {revisions}\n"

    current = hub("db", "current", "--database", store_url)
    assert current.exit_code == 0, current.output
    assert current.stdout == f"{head_revision()} (head)\n"

    again = hub("db", "upgrade", "--database", store_url)
    assert again.stdout == f"already at {head_revision()}: nothing to apply\n"


def test_upgrade_from_the_previous_revision(store_url: str) -> None:
    """At the previous revision `current` exits 1 naming the command; `upgrade` applies one."""
    _at(store_url, PREVIOUS)
    current = hub("db", "current", "--database", store_url)
    assert current.exit_code == 1
    assert current.stdout == (
        f"{PREVIOUS} (this release needs {head_revision()}: run `hub db upgrade`)\n"
    )

    upgraded = hub("db", "upgrade", "--database", store_url)
    assert upgraded.stdout == f"upgraded to {head_revision()}: applied {head_revision()}\n"
    assert _revision(store_url) == head_revision()


def test_history_lists_every_revision_oldest_first() -> None:
    """`hub db history` prints each revision with what it does, without a database."""
    result = hub("db", "history")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [step.revision for step in history()]
    assert lines[0] == "0001  Create the initial tables."


def test_current_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    """`hub db current` on a file that does not exist says so in one line and leaves no file."""
    missing = tmp_path / "nowhere" / "hub.db"
    result = hub("db", "current", "--database", f"sqlite:///{missing}")
    assert result.exit_code == 1
    assert result.stderr == f"error: no database at {missing}\n"
    assert not missing.exists()


def _run_env(url: str) -> dict[str, str]:
    return {
        "HUB_DATABASE_URL": url,
        "HUB_PSEUDONYM_KEY": "a-long-random-secret-of-this-deployment",
        # Never reached: the store is opened before anything talks to Kafka.
        "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:9",
    }


@pytest.mark.postgres
@pytest.mark.parametrize("at", [None, PREVIOUS])
def test_hub_run_refuses_a_shared_store_behind_the_code(
    postgres_schema_url: str, at: str | None
) -> None:
    """`hub run` on PostgreSQL older than its code exits 1 in one line naming `hub db upgrade`."""
    if at is not None:
        _at(postgres_schema_url, at)
    result = hub("run", "--config", str(EXAMPLE), env=_run_env(postgres_schema_url))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert f"needs revision {head_revision()}: run `hub db upgrade`" in result.stderr
    assert _revision(postgres_schema_url) == at


@pytest.mark.postgres
def test_operator_commands_do_not_upgrade_a_shared_store(postgres_schema_url: str) -> None:
    """`hub dlq list` on PostgreSQL behind the code is refused, naming `hub db upgrade`."""
    _at(postgres_schema_url, PREVIOUS)
    result = hub("dlq", "list", "--database", postgres_schema_url)
    assert result.exit_code == 1
    assert "run `hub db upgrade`" in result.stderr
    assert _revision(postgres_schema_url) == PREVIOUS


def test_operator_commands_upgrade_an_embedded_store(tmp_path: Path) -> None:
    """`hub dlq list` on an embedded SQLite store behind the code upgrades it, as before."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    _at(url, PREVIOUS)
    result = hub("dlq", "list", "--database", url)
    assert result.exit_code == 0, result.output
    assert _revision(url) == head_revision()
