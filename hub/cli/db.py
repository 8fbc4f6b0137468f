"""``hub db``: the store's schema, upgraded with Alembic.

A shared (PostgreSQL) store is upgraded by its operators before a new release
starts: ``hub run`` refuses a schema older than its code. An embedded SQLite
store is upgraded by the hub itself when it opens it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.cli.run import ConfigOption
from hub.errors import HubError
from hub.store import create_store_engine, current_version, migrate
from hub.store.migrations import UPGRADE_COMMAND, head_revision, history

__all__ = ["app"]

app = typer.Typer(
    help="The store's schema: upgrade it, show where it stands.", no_args_is_help=True
)

DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="Store URL; overrides the configuration.")
]


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names if it does not exist (connecting would create it)."""
    try:
        parsed = make_url(url) if "://" in url else None
    except ArgumentError:
        return None  # create_store_engine reports the malformed URL
    if parsed is not None and parsed.get_backend_name() != "sqlite":
        return None
    database = url if parsed is None else parsed.database or ""
    if parsed is not None and (
        database in {"", ":memory:"} or "mode" in parsed.query or "uri" in parsed.query
    ):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


@contextmanager
def _engine(config: Path | None, database: str | None, *, may_create: bool) -> Iterator[Engine]:
    url = settings_or_exit(config, database_url=database).database_url
    missing = None if may_create else _missing_sqlite_file(url)
    if missing is not None:
        fail(f"no database at {missing}")
    try:
        engine = create_store_engine(url)
    except HubError as exc:
        fail(str(exc))
    try:
        yield engine
    except HubError as exc:
        fail(f"store: {exc}")
    finally:
        engine.dispose()


@app.command("upgrade")
def upgrade(config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Apply the schema revisions the store lacks (creating the schema in an empty one)."""
    with _engine(config, database, may_create=True) as engine:
        applied = migrate(engine)
    if applied:
        typer.echo(f"upgraded to {applied[-1]}: applied {', '.join(applied)}")
    else:
        typer.echo(f"already at {head_revision()}: nothing to apply")


@app.command("current")
def current(config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Show the store's schema revision; exit 1 when it is not this release's."""
    with _engine(config, database, may_create=False) as engine:
        revision = current_version(engine)
    head = head_revision()
    if revision == head:
        typer.echo(f"{revision} (head)")
        return
    if revision is not None and revision not in {step.revision for step in history()}:
        typer.echo(f"{revision} (newer than this release, whose latest is {head})")
        raise typer.Exit(1)
    found = "no hub schema" if revision is None else revision
    typer.echo(f"{found} (this release needs {head}: run `{UPGRADE_COMMAND}`)")
    raise typer.Exit(1)


@app.command("history")
def show_history() -> None:
    """List the schema revisions this release knows, oldest first."""
    for step in history():
        typer.echo(f"{step.revision}  {step.description}")
