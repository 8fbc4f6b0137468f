"""``hub run`` and ``hub broker``: serve the hub, or only the embedded broker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer

from hub.broker.embedded import EmbeddedBroker
from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.errors import HubError
from hub.observability import configure_logging
from hub.runtime.roles import Part, Role, parts_of, refuse_unless_shared
from hub.runtime.server import running_hub, running_workers

__all__ = ["broker", "run"]

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="The hub's TOML configuration file.")
]


def run(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    role: Annotated[
        Role,
        typer.Option(
            help="The part to run: api (HTTP and intake), relay (outbox, audit stream,"
            " consent expiry), router (ingress), delivery (inboxes, court files,"
            " agency databases), or all. Parts apart need PostgreSQL and Kafka."
        ),
    ] = Role.ALL,
) -> None:
    """Run the hub: HTTP API, outbox relay, router and delivery workers, or one of them."""
    settings = settings_or_exit(config)
    try:
        settings.check_pseudonym_key()  # before anything starts, in one line
        refuse_unless_shared(role, settings.database_url, settings.kafka_bootstrap)
    except HubError as exc:
        fail(str(exc))
    configure_logging(settings.log_format)

    async def serve() -> None:
        if Part.API not in parts_of(role):
            async with running_workers(settings, role):
                typer.echo(f"hub {role.value} running", err=True)
                await _until_signalled()
            return
        async with running_hub(settings, host=host, port=port, role=role) as hub:
            typer.echo(f"hub listening on {hub.base_url}", err=True)
            if settings.operator_token_hashes():
                typer.echo(f"operations page: {hub.base_url}/ops (operator token)", err=True)
            await _until_signalled()

    try:
        asyncio.run(serve())
    except HubError as exc:
        fail(str(exc))


def broker(
    port: Annotated[int | None, typer.Option(help="Port; a free one when omitted.")] = None,
) -> None:
    """Run the embedded Kafka-protocol broker on 127.0.0.1 until interrupted."""

    async def serve() -> None:
        async with EmbeddedBroker(port=port) as embedded:
            typer.echo(f"broker ready at {embedded.bootstrap_servers}")
            await _until_signalled()

    try:
        asyncio.run(serve())
    except HubError as exc:
        fail(str(exc))


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
