"""Operations endpoints: liveness, readiness, metrics and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.api.context import Hub
from hub.api.problems import problem
from hub.contracts import ReferralStatus
from hub.contracts.docs import render_asyncapi as asyncapi_yaml
from hub.contracts.status import TERMINAL
from hub.errors import StoreError
from hub.store import outbox, referrals

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The broker and the store are reachable")
async def readyz(hub: Hub) -> Response:
    checks: dict[str, Any] = {}
    try:
        await asyncio.to_thread(hub.store.ping)
        checks["store"] = "ok"
    except StoreError:
        checks["store"] = "unreachable"
    if hub.broker_ready is not None:
        checks["broker"] = "ok" if await hub.broker_ready() else "unreachable"
    if hub.agency_databases is not None:
        for agency_id, up in sorted(hub.agency_databases().items()):
            checks[f"agency-database:{agency_id}"] = "ok" if up else "unreachable"
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return problem(503, "Not ready", "a dependency is unreachable", checks=checks)


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(hub: Hub) -> Response:
    def backlog() -> tuple[int, int]:
        with hub.store.transaction() as conn:
            open_statuses = [s.value for s in ReferralStatus if s not in TERMINAL]
            return (
                outbox.count_pending(conn),
                referrals.count_overdue(conn, hub.clock(), open_statuses),
            )

    # On a store failure the gauges keep their last values; /readyz reports the store.
    with contextlib.suppress(StoreError):
        pending, overdue = await asyncio.to_thread(backlog)
        hub.metrics.outbox_pending.set(pending)
        hub.metrics.referrals_overdue.set(overdue)
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.yaml", summary="The AsyncAPI 3.0 document of the hub's channels")
async def asyncapi_document(hub: Hub) -> PlainTextResponse:
    return PlainTextResponse(asyncapi_yaml(hub.registry), media_type="application/yaml")


@router.get("/asyncapi", summary="The AsyncAPI document, readable", response_class=HTMLResponse)
async def asyncapi_page(hub: Hub) -> HTMLResponse:
    text = asyncapi_yaml(hub.registry)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>Referral Hub AsyncAPI"
        "</title></head><body><h1>Referral Hub: event channels (AsyncAPI 3.0)</h1>"
        "<p><a href='/asyncapi.yaml'>Download asyncapi.yaml</a></p>"
        f"<pre>{escaped}</pre></body></html>"
    )
