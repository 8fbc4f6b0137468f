"""``hub top``: the operations page in a terminal, refreshing, from a running hub."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from hub.cli._output import fail

__all__ = ["render_frame", "top"]

_BARS = "▁▂▃▄▅▆▇█"


def spark(values: Sequence[float]) -> str:
    """The values as a line of block characters, scaled to their own range."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = high - low
    top_bar = len(_BARS) - 1
    return "".join(
        _BARS[round((value - low) / span * top_bar) if span else top_bar // 2] for value in values
    )


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3f}"


def render_frame(data: dict[str, Any], source: str) -> RenderableType:
    """One frame: a table per section, a row per series, as ``/ops`` shows it."""
    parts: list[RenderableType] = [
        Text(f"Referral Hub operations: {source} at {data.get('generated_at', '?')}", style="bold")
    ]
    for section in data.get("sections", []):
        table = Table(title=section["title"], title_justify="left", expand=False)
        table.add_column("series")
        table.add_column("labels")
        table.add_column("value", justify="right")
        table.add_column("recent")
        for family in section["families"]:
            for series in family["series"]:
                labels = ", ".join(f"{k}={v}" for k, v in sorted(series["labels"].items()))
                table.add_row(
                    series["sample"],
                    labels,
                    _number(float(series["value"])),
                    spark(series["history"][-30:]),
                )
        parts.append(table)
    return Group(*parts)


class _Unanswered(Exception):
    """The hub did not answer with numbers; the message says why."""


def _fetch(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise _Unanswered(f"cannot reach {url}: {type(exc).__name__}") from exc
    if response.status_code in (401, 403):
        fail(f"{url} refused the token ({response.status_code}); an operator token is needed")
    if response.status_code != 200:
        raise _Unanswered(f"{url} answered {response.status_code}")
    data: dict[str, Any] = response.json()
    return data


def top(
    url: Annotated[
        str, typer.Option(help="The hub's base URL.", envvar="HUB_URL")
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str, typer.Option(help="An operator token.", envvar="HUB_OPERATOR_TOKEN")
    ] = "",
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.", min=0.5)] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Print one frame and exit.")] = False,
) -> None:
    """Watch a running hub's flow, time limits, backlogs and failures (its /ops numbers)."""
    if not token:
        fail("an operator token is required: --token or HUB_OPERATOR_TOKEN")
    endpoint = url.rstrip("/") + "/ops/data.json"
    headers = {"authorization": f"Bearer {token}"}
    console = Console()
    with httpx.Client(headers=headers, timeout=10.0, trust_env=False) as client:
        if once:
            try:
                console.print(render_frame(_fetch(client, endpoint), url))
            except _Unanswered as exc:
                fail(str(exc))
            return
        with Live(console=console, refresh_per_second=4, screen=False) as live:
            frame: RenderableType | None = None
            try:
                while True:
                    try:
                        frame = render_frame(_fetch(client, endpoint), url)
                        live.update(frame)
                    except _Unanswered as exc:
                        # A restarting hub: keep the last frame, say why it is old, retry.
                        note = Text(f"{exc}; retrying every {interval:g} s", style="bold red")
                        live.update(Group(note, frame) if frame is not None else note)
                    time.sleep(interval)
            except KeyboardInterrupt:
                return
