"""The live operations page, ``/ops``, and its numbers, ``/ops/data.json``.

For a region running the hub alone, without Prometheus or Grafana: the flow of
referrals, time limits, agency backlogs, delivery failures, dead letters and
consent blocks, each a table of the metric's series with a small chart of the
last hours. Server-rendered, refreshing itself; no script, no build chain.

Only operators open it, with an operator token: in the Authorization header,
or once as ``?token=`` in a browser, which sets an HttpOnly cookie and drops the
token from the address. Agency tokens are refused (403) as operator tokens are
on the API: the two credentials open disjoint things.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hub.api.auth import hash_token
from hub.api.context import ApiContext, Hub
from hub.api.problems import ProblemError
from hub.observability.ops_history import OpsHistory
from hub.observability.ops_view import Section, read_sections

__all__ = ["COOKIE", "REFRESH_S", "ops_data", "router"]

router = APIRouter(tags=["operations"])

#: The cookie a browser keeps the operator token in, for /ops only.
COOKIE = "hub_ops"
#: How often the page reloads itself.
REFRESH_S = 5
#: Points per chart: more than a sparkline's width in pixels would not show.
CHART_POINTS = 60


async def _operator_for(context: ApiContext, token: str) -> str:
    """The operator behind ``token``; 403 for an agency's token, 401 for anything else."""
    operator = context.operators.get(hash_token(token))
    if operator is not None:
        return operator
    tokens = context.tokens
    agency = tokens.agency_for(token) if tokens.is_fresh() else None
    if agency is None and not tokens.is_fresh():
        agency = await asyncio.to_thread(tokens.agency_for, token)
    if agency is not None:
        raise ProblemError(403, "Forbidden", "the operations page needs an operator token")
    raise ProblemError(401, "Unauthorized", "an operator token is required")


def _presented(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(COOKIE) or None


def ops_data(sections: Sequence[Section], history: OpsHistory | None) -> dict[str, Any]:
    """The page's numbers as JSON: what ``hub top`` reads."""
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "sample_s": history.sample_s if history else None,
        "sections": [
            {
                "id": section.id,
                "title": section.title,
                "families": [
                    {
                        "name": family.name,
                        "type": family.kind,
                        "help": family.help,
                        "series": [
                            {
                                "key": series.key,
                                "sample": series.sample,
                                "labels": dict(series.labels),
                                "value": series.value,
                                "history": history.values(series.key, CHART_POINTS)
                                if history
                                else [],
                            }
                            for series in family.series
                        ],
                    }
                    for family in section.families
                ],
            }
            for section in sections
        ],
    }


@router.get("/ops/data.json", summary="The operations page's numbers (operator token)")
async def ops_json(request: Request, hub: Hub) -> JSONResponse:
    token = _presented(request)
    if token is None:
        raise ProblemError(401, "Unauthorized", "an operator token is required")
    await _operator_for(hub, token)
    data = ops_data(read_sections(hub.metrics.registry), hub.ops_history)
    return JSONResponse(data, headers={"cache-control": "no-store"})


@router.get(
    "/ops", summary="The live operations page (operator token)", response_class=HTMLResponse
)
async def ops_page(request: Request, hub: Hub) -> Response:
    offered = request.query_params.get("token")
    if offered:
        await _operator_for(hub, offered)
        # The token leaves the address bar (and history) at once; the cookie carries it.
        answer = RedirectResponse("/ops", status_code=303)
        answer.set_cookie(
            COOKIE,
            offered,
            path="/ops",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer
    token = _presented(request)
    if token is None:
        raise ProblemError(401, "Unauthorized", "an operator token is required")
    operator = await _operator_for(hub, token)
    sections = read_sections(hub.metrics.registry)
    page = render_page(sections, hub.ops_history, operator=operator, now=hub.clock())
    return HTMLResponse(page, headers={"cache-control": "no-store"})


# -- rendering -----------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2430;background:#f7f8fa}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem;
border-bottom:2px solid #d0d5dd}h3{font-size:.95rem;margin:.9rem 0 .2rem;font-family:monospace}
.meta{color:#5a6473;font-size:.85rem}.help{color:#5a6473;font-size:.8rem;margin:0 0 .3rem}
table{border-collapse:collapse;background:#fff;font-size:.85rem;min-width:24rem}
th,td{border:1px solid #e1e4ea;padding:.2rem .5rem;text-align:left}
td.value{text-align:right;font-variant-numeric:tabular-nums;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:0 2rem}.family{margin-bottom:.4rem}
svg.spark polyline{fill:none;stroke:#2b6cb0;stroke-width:1.5}
"""


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3f}"


def sparkline(values: Sequence[float], width: int = 120, height: int = 22) -> str:
    """An inline SVG line of ``values``, scaled to their own range."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = high - low
    step = width / (len(values) - 1)
    points = " ".join(
        f"{index * step:.1f},"
        f"{(height - 2) - ((value - low) / span * (height - 4) if span else (height - 4) / 2):.1f}"
        for index, value in enumerate(values)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="from {_number(values[0])} to {_number(values[-1])}">'
        f'<polyline points="{points}"/></svg>'
    )


def _family_table(family: Any, history: OpsHistory | None) -> str:
    label_names = sorted({name for series in family.series for name in series.labels})
    head = "".join(f"<th>{html.escape(name)}</th>" for name in label_names)
    rows = []
    for series in family.series:
        cells = "".join(
            f"<td>{html.escape(series.labels.get(name, ''))}</td>" for name in label_names
        )
        chart = sparkline(history.values(series.key, CHART_POINTS)) if history else ""
        rows.append(
            f"<tr><td>{html.escape(series.sample)}</td>{cells}"
            f'<td class="value" data-series="{html.escape(series.key)}">'
            f"{_number(series.value)}</td><td>{chart}</td></tr>"
        )
    body = "".join(rows) or f'<tr><td colspan="{len(label_names) + 3}">no series yet</td></tr>'
    return (
        f'<div class="family" data-family="{html.escape(family.name)}">'
        f"<h3>{html.escape(family.name)}</h3><p class='help'>{html.escape(family.help)}</p>"
        f"<table><thead><tr><th>series</th>{head}<th>value</th><th>recent</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def render_page(
    sections: Sequence[Section], history: OpsHistory | None, *, operator: str, now: datetime
) -> str:
    reach = ""
    if history is not None:
        hours = history.capacity * history.sample_s / 3600
        reach = f"; charts: the last {hours:g} h, a sample every {history.sample_s:g} s"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='refresh' content='{REFRESH_S}'>",
        "<title>Referral Hub: operations</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Referral Hub: operations</h1>",
        f"<p class='meta'>Counts only, from the hub's metrics at "
        f"<time>{now.strftime('%Y-%m-%d %H:%M:%S')} UTC</time>; refreshes every "
        f"{REFRESH_S} s{reach}. Signed in as operator {html.escape(operator)}.</p>",
    ]
    for section in sections:
        parts.append(
            f"<section id='{section.id}'><h2>{html.escape(section.title)}</h2><div class='grid'>"
        )
        parts.extend(_family_table(family, history) for family in section.families)
        parts.append("</div></section>")
    parts.append("</body></html>")
    return "".join(parts)
