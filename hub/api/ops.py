"""Operations endpoints: liveness, readiness, metrics and the AsyncAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.api.context import Hub
from hub.api.problems import problem
from hub.contracts.docs import render_asyncapi as asyncapi_yaml
from hub.errors import StoreError

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
    # Only what is in memory: the store-backed gauges are kept current by a
    # background task, so a scrape (or a flood of them) never reads the store.
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _asyncapi_text(request: Request, hub: Hub) -> str:
    """The AsyncAPI document, rendered at its first request and kept by the app.

    Rendering takes tens of milliseconds of CPU on the event loop, so it is
    never repeated: the contracts cannot change while the process runs.
    """
    cached: str | None = getattr(request.app.state, "asyncapi_yaml", None)
    if cached is None:
        cached = asyncapi_yaml(hub.registry)
        request.app.state.asyncapi_yaml = cached
    return cached


@router.get("/asyncapi.yaml", summary="The AsyncAPI 3.0 document of the hub's channels")
async def asyncapi_document(request: Request, hub: Hub) -> PlainTextResponse:
    return PlainTextResponse(_asyncapi_text(request, hub), media_type="application/yaml")


@router.get("/asyncapi", summary="The AsyncAPI document, readable", response_class=HTMLResponse)
async def asyncapi_page(request: Request, hub: Hub) -> HTMLResponse:
    page: str | None = getattr(request.app.state, "asyncapi_html", None)
    if page is None:
        text = _asyncapi_text(request, hub)
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Referral Hub AsyncAPI"
            "</title></head><body><h1>Referral Hub: event channels (AsyncAPI 3.0)</h1>"
            "<p><a href='/asyncapi.yaml'>Download asyncapi.yaml</a></p>"
            f"<pre>{escaped}</pre></body></html>"
        )
        request.app.state.asyncapi_html = page
    return HTMLResponse(page)
