"""``hub dlq``: list dead letters and replay them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from hub.audit import AuditRecorder
from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.cli.run import ConfigOption
from hub.errors import ConfigError, StoreError
from hub.services.replay import replay_dead_letters
from hub.store import Store, is_embedded
from hub.store import dead_letters as dead_letter_store

__all__ = ["app"]

app = typer.Typer(help="Dead letters: events that could not be delivered.", no_args_is_help=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="Store URL; overrides the configuration.")
]


def _open(config: ConfigOption, database: str | None) -> tuple[Store, AuditRecorder]:
    settings = settings_or_exit(config, database_url=database)
    try:
        audit = AuditRecorder.from_settings(settings.audit, actor=settings.hub_id)
        return Store.open(
            settings.database_url,
            apply_migrations=is_embedded(settings.database_url),
            require_current_schema=True,
        ), audit
    except (StoreError, ConfigError) as exc:
        fail(f"store unavailable: {exc}")


@app.command("list")
def list_letters(
    config: ConfigOption = None,
    database: DatabaseOption = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's letters.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List dead letters waiting for a replay."""
    store, _ = _open(config, database)
    with store:
        try:
            with store.transaction() as conn:
                letters = dead_letter_store.list_dead_letters(conn, agency_id=agency)
        except StoreError as exc:
            fail(f"store unavailable: {exc}")
    rows = [
        {
            "id": letter.id,
            "agency": letter.agency_id,
            "event_id": letter.event_id,
            "topic": letter.topic,
            "attempts": letter.attempts,
            "reason": letter.reason,
            "at": letter.created_at.isoformat(),
        }
        for letter in letters
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no dead letters")
    for row in rows:
        typer.echo(
            f"{row['id']:>6}  {row['agency'] or '-':<32} {row['event_id']:<38} "
            f"{row['attempts']} attempts  {row['reason']}"
        )


@app.command()
def replay(
    letter: Annotated[int | None, typer.Argument(help="One letter id; all when omitted.")] = None,
    config: ConfigOption = None,
    database: DatabaseOption = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's letters.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent.")] = False,
) -> None:
    """Send dead letters to their agency again; a withdrawn consent excludes a letter."""
    store, audit = _open(config, database)
    with store:
        try:
            results = replay_dead_letters(
                store,
                now=datetime.now(UTC),
                agency_id=agency,
                letter_id=letter,
                dry_run=dry_run,
                audit=audit,
            )
        except StoreError as exc:
            fail(f"store unavailable: {exc}")
    if letter is not None and not results:
        fail(f"no dead letter {letter} waiting for a replay")
    verb = "would be " if dry_run else ""
    for result in results:
        detail = f": {result.reason}" if result.reason else ""
        typer.echo(f"{result.letter.id:>6}  {verb}{result.outcome}{detail}")
    replayed = sum(1 for result in results if result.outcome == "replayed")
    typer.echo(f"{replayed} of {len(results)} {verb}replayed", err=True)
