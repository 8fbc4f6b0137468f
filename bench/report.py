"""The results as a Markdown table, as JSON, and in ``bench/README.md``."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

from bench.results import Results

__all__ = ["table", "update_readme", "write_json"]

README = Path(__file__).with_name("README.md")
_START, _END = "<!-- results:start -->", "<!-- results:end -->"


def table(results: Results) -> str:
    lines = [
        "| figure | median | min | max | unit | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, figure in results.figures.items():
        row = figure.to_json()
        target = _target(row)
        if row["status"] == "ok":
            cells = [_number(row["median"]), _number(row["min"]), _number(row["max"])]
        else:
            cells = [f"{row['status']}: {row['reason']}", "", ""]
        lines.append(f"| `{name}` | {' | '.join(cells)} | {row['unit']} | {target} |")
    return "\n".join(lines + _notes(results))


def write_json(path: Path, results: Results, header: dict[str, Any]) -> None:
    document = {
        **header,
        "figures": {name: figure.to_json() for name, figure in results.figures.items()},
        "details": results.details,
    }
    # Written beside and renamed over, so an interrupted run never leaves half a file.
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(path)


def update_readme(results: Results, machine: str, command: str) -> bool:
    """Replace the table between the README's markers; False if it has none."""
    if not README.exists():
        return False
    text = README.read_text()
    if _START not in text or _END not in text:
        return False
    block = f"{_START}\n`{command}` on {machine}:\n\n{table(results)}\n{_END}"
    pattern = re.compile(re.escape(_START) + ".*?" + re.escape(_END), re.DOTALL)
    README.write_text(pattern.sub(lambda _match: block, text, count=1))
    return True


def _notes(results: Results) -> list[str]:
    """What a reader must know to read the latency figures."""
    offered = results.details.get("latency_offered_per_s")
    delivered = results.details.get("latency_delivered_per_s")
    if not offered or not delivered:
        return []
    offered_per_s, delivered_per_s = statistics.median(offered), statistics.median(delivered)
    if delivered_per_s >= 0.95 * offered_per_s:
        return []
    # Past saturation a backlog grows for as long as the load is offered, so the
    # percentiles measure the window's length as much as the hub.
    return [
        "",
        f"The latency figures are past saturation: the hub delivered {delivered_per_s:,.0f} "
        f"events/s of the {offered_per_s:,.0f}/s offered, so they measure a queue that grew "
        "for the whole window.",
    ]


def _target(row: dict[str, Any]) -> str:
    if "target" not in row:
        return ""
    met = row.get("target_met")
    verdict = "" if met is None else (" met" if met else " **missed**")
    return f"{row['target']}{verdict}"


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"
