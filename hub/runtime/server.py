"""Running the hub in this process: embedded broker if needed, store, uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn

from hub.broker.embedded import EmbeddedBroker
from hub.config import HubSettings
from hub.errors import HubError
from hub.runtime.bootstrap import HubServices, build_app
from hub.runtime.roles import Part, Role, parts_of, refuse_unless_shared
from hub.store import Store, is_embedded

__all__ = ["RunningHub", "running_hub", "running_workers"]


@dataclass(frozen=True)
class RunningHub:
    base_url: str
    port: int
    services: HubServices


@contextlib.asynccontextmanager
async def running_hub(
    settings: HubSettings,
    *,
    host: str | None = None,
    port: int | None = None,
    role: Role = Role.ALL,
    upgrade_schema: bool | None = None,
) -> AsyncIterator[RunningHub]:
    """Start the hub serving HTTP (``role`` all or api); on exit stop it, the embedded broker too.

    Refuses (ConfigError) a pseudonym key that cannot keep subject ids secret,
    and a role apart on a store or broker that cannot be shared.
    """
    parts = parts_of(role)
    if Part.API not in parts:
        raise ValueError(f"role {role.value} serves no HTTP; use running_workers")
    async with _services(settings, role, upgrade_schema) as services:
        config = uvicorn.Config(
            build_app(services, parts),
            host=host or settings.http_host,
            port=settings.http_port if port is None else port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(), name="uvicorn")
        while not server.started:
            if serving.done():
                raise HubError("the hub failed to start; see the log above")
            await asyncio.sleep(0.02)
        bound = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield RunningHub(f"http://{config.host}:{bound}", bound, services)
        finally:
            server.should_exit = True
            await serving


@contextlib.asynccontextmanager
async def running_workers(settings: HubSettings, role: Role) -> AsyncIterator[HubServices]:
    """Start a part that serves no HTTP (relay, router or delivery) until the block ends."""
    parts = parts_of(role)
    if Part.API in parts:
        raise ValueError(f"role {role.value} serves HTTP; use running_hub")
    async with _services(settings, role) as services:
        app = build_app(services, parts)
        async with app.router.lifespan_context(app):
            yield services


@contextlib.asynccontextmanager
async def _services(
    settings: HubSettings, role: Role, upgrade_schema: bool | None = None
) -> AsyncIterator[HubServices]:
    """``upgrade_schema`` brings the store's schema up to date first; by default only an
    embedded SQLite store is, and a shared one whose schema is not this release's is
    refused (StoreError naming ``hub db upgrade``)."""
    settings.check_pseudonym_key()
    refuse_unless_shared(role, settings.database_url, settings.kafka_bootstrap)
    async with contextlib.AsyncExitStack() as stack:
        bootstrap = settings.kafka_bootstrap
        if bootstrap is None:
            broker = EmbeddedBroker(binary=settings.tansu_bin, port=settings.broker_port)
            await stack.enter_async_context(broker)
            bootstrap = broker.bootstrap_servers
        url = settings.database_url
        upgrade = is_embedded(url) if upgrade_schema is None else upgrade_schema
        store = await asyncio.to_thread(
            Store.open, url, apply_migrations=upgrade, require_current_schema=True
        )
        stack.callback(store.close)
        yield HubServices(settings=settings, store=store, bootstrap_servers=bootstrap)
