"""``hub stats``: aggregates for partners, suppressed so that no one is singled out."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

import typer

from hub.audit import AuditRecorder
from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.cli.run import ConfigOption
from hub.errors import ConfigError, StoreError
from hub.services.statistics import export_statistics
from hub.stats import DIMENSIONS, StatsRequest
from hub.stats.render import to_csv, to_json
from hub.store import Store

__all__ = ["app"]

app = typer.Typer(
    help="Statistics: counts and times, small cells suppressed.", no_args_is_help=True
)


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"


@app.command("export")
def export(
    start: Annotated[str, typer.Option("--from", help="First day counted (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day counted (YYYY-MM-DD).")],
    by: Annotated[str, typer.Option(help=f"Comma-separated, of: {','.join(DIMENSIONS)}.")],
    output: Annotated[Format, typer.Option("--format", help="csv or json.")] = Format.JSON,
    threshold: Annotated[int, typer.Option(help="Counts below this read '<threshold'.", min=2)] = 5,
    config: ConfigOption = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Store URL; overrides the configuration.")
    ] = None,
) -> None:
    """Referrals by dimension, steps within their time limit, times per step, outcomes."""
    try:
        request = StatsRequest(
            start=date.fromisoformat(start),
            end=date.fromisoformat(end),
            by=tuple(name.strip() for name in by.split(",") if name.strip()),
            threshold=threshold,
        )
    except ValueError as exc:
        fail(str(exc), code=2)
    settings = settings_or_exit(config, database_url=database)
    try:
        audit = AuditRecorder.from_settings(settings.audit, actor=settings.hub_id)
        store = Store.open(settings.database_url)
    except (StoreError, ConfigError) as exc:
        fail(f"store unavailable: {exc}")
    with store:
        try:
            result = export_statistics(
                store, audit, request, actor=settings.hub_id, pathways=settings.pathways
            )
        except StoreError as exc:
            fail(f"store unavailable: {exc}")
        except ValueError as exc:
            fail(str(exc), code=2)
    typer.echo(to_csv(result) if output is Format.CSV else to_json(result), nl=False)
    if output is Format.JSON:
        typer.echo()
