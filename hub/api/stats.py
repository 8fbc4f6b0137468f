"""``GET /v1/stats``: aggregates for an observer agency, small cells suppressed."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from hub.api.context import Hub, Observer
from hub.api.problems import ProblemError
from hub.services.statistics import export_statistics
from hub.stats import DIMENSIONS, StatsRequest
from hub.stats.render import to_csv

__all__ = ["router"]

router = APIRouter(tags=["statistics"])


@router.get("/v1/stats", summary="Aggregates, small cells suppressed; observers only")
async def get_stats(
    hub: Hub,
    caller: Observer,
    start: Annotated[date, Query(alias="from", description="First day counted.")],
    end: Annotated[date, Query(alias="to", description="Last day counted.")],
    by: Annotated[str, Query(description=f"Comma-separated, of: {','.join(DIMENSIONS)}.")],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    try:
        request = StatsRequest(
            start=start,
            end=end,
            by=tuple(name.strip() for name in by.split(",") if name.strip()),
            threshold=hub.statistics_threshold,
        )
    except ValueError as exc:
        raise ProblemError(400, "Bad request", str(exc)) from exc

    def export() -> Any:
        return export_statistics(hub.store, hub.audit, request, actor=caller, pathways=hub.pathways)

    try:
        result = await asyncio.to_thread(export)
    except ValueError as exc:
        raise ProblemError(400, "Bad request", str(exc)) from exc
    if format == "csv":
        return PlainTextResponse(to_csv(result), media_type="text/csv")
    return result.as_json()
