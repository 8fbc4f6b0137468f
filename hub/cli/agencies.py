"""``hub agencies``: list the configured agencies, rotate an agency's token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from hub.api.auth import hash_token, new_token
from hub.audit import AuditAction, AuditRecorder
from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.cli.run import ConfigOption
from hub.errors import ConfigError, StoreError
from hub.services.agencies import sync_agencies
from hub.store import Store, is_embedded
from hub.store import agencies as agency_store

__all__ = ["app"]

app = typer.Typer(help="The agencies of this hub.", no_args_is_help=True)


@app.command("list")
def list_agencies(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List the configured agencies: id, kind, region, delivery mode."""
    settings = settings_or_exit(config)
    rows = [
        {
            "id": agency.id,
            "name": agency.name,
            "kind": agency.kind.value,
            "region": agency.region,
            "delivery": agency.delivery.mode,
        }
        for agency in settings.agencies
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no agencies configured")
        return
    width = max(len(row["id"]) for row in rows)
    typer.echo(f"{'ID':<{width}}  {'KIND':<15} {'REGION':<20} DELIVERY")
    for row in rows:
        typer.echo(f"{row['id']:<{width}}  {row['kind']:<15} {row['region']:<20} {row['delivery']}")


@app.command("rotate-token")
def rotate_token(
    agency: Annotated[str, typer.Argument(help="The agency id.")],
    config: ConfigOption = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Store URL; overrides the configuration.")
    ] = None,
) -> None:
    """Issue a new bearer token: printed once, only its hash is kept; the old one stops."""
    settings = settings_or_exit(config, database_url=database)
    if settings.agency(agency) is None:
        fail(f"no agency {agency!r} is configured")
    token = new_token()
    now = datetime.now(UTC)
    try:
        audit = AuditRecorder.from_settings(settings.audit, actor=settings.hub_id)
        with Store.open(
            settings.database_url,
            apply_migrations=is_embedded(settings.database_url),
            require_current_schema=True,
        ) as store:
            sync_agencies(store, settings, audit, now)
            with store.transaction() as conn:
                agency_store.set_token_hash(conn, agency, hash_token(token), now)
                audit.record(
                    conn,
                    action=AuditAction.TOKEN_ROTATED,
                    actor="operator",
                    at=now,
                    details={"agency": agency},
                )
    except (StoreError, ConfigError) as exc:
        fail(f"store unavailable: {exc}")
    typer.echo(token)
    typer.echo(f"new token for {agency}; store it now, it is not shown again", err=True)
