"""An export as one JSON document or one CSV table."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hub.stats.export import Export

__all__ = ["to_csv", "to_json"]

_TABLES = {
    "referrals": "referrals",
    "steps_within_time_limit": "steps",
    "outcomes_per_pathway": "outcomes",
}


def to_json(export: Export) -> str:
    return json.dumps(export.as_json(), indent=2, ensure_ascii=False)


def to_csv(export: Export) -> str:
    """Every figure a row: its table, the values it is counted by, and the figure.

    A table withheld whole has one row saying so; a cell suppressed reads as in JSON.
    """
    document = export.as_json()
    rows: list[dict[str, Any]] = []
    for table, measure in _TABLES.items():
        found = document[table]
        if isinstance(found, dict):
            rows.append({"table": table, "value": "withheld"})
            continue
        for row in found:
            value = row[measure]
            rows.append(
                {"table": table, **{k: v for k, v in row.items() if k != measure}, "value": value}
            )
    for figure in document["time_per_step"]:
        for name in ("median_hours", "p90_hours"):
            value = figure[name]
            rows.append(
                {
                    "table": f"time_to_{figure['measure']}_{name}",
                    "step": figure["step"],
                    "value": "withheld" if value is None else value,
                }
            )
    columns = ["table"]
    for row in rows:
        columns.extend(key for key in row if key not in columns and key != "value")
    columns.append("value")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
