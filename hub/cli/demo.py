"""``hub demo``: the example network, end to end, on a temporary store.

The broker is the embedded one, or the Kafka ``HUB_KAFKA_BOOTSTRAP`` names.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli._output import fail
from hub.demo.network import DEFAULT_NETWORK
from hub.demo.runner import DemoOptions, run_demo
from hub.errors import HubError
from hub.observability import configure_logging

__all__ = ["demo"]


def demo(
    referrals: Annotated[int, typer.Option(min=1, max=100_000, help="Referrals to submit.")] = 200,
    database: Annotated[
        str | None,
        typer.Option("--database", help="Keep the store here (e.g. sqlite:///var/demo.db)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary.")] = False,
    config: Annotated[
        Path, typer.Option("--config", help="The network to simulate.")
    ] = DEFAULT_NETWORK,
    seed: Annotated[int, typer.Option(help="Seed of the simulated stories.")] = 7,
) -> None:
    """Run the example regional network end to end and report what reached whom."""
    if not config.is_file():
        fail(f"{config}: network configuration not found (run from the repository root)")
    # Logs would interleave with the progress lines; keep only warnings and errors.
    configure_logging("console", level=30)
    options = DemoOptions(config=config, referrals=referrals, database_url=database, seed=seed)

    def progress(line: str) -> None:
        print(f"demo: {line}", file=sys.stderr, flush=True)

    try:
        summary = asyncio.run(run_demo(options, progress))
    except HubError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _print_summary(summary)
    if summary["lost"] or summary["duplicates"] or summary["leaks"] or not summary["settled"]:
        raise typer.Exit(1)


def _print_summary(summary: dict[str, Any]) -> None:
    lines = [
        "Referral Hub demo: Casablanca-Settat network",
        f"  survivors                {summary['survivors']}",
        f"  referrals                {summary['referrals']}",
        f"  events submitted         {summary['events_submitted']}",
        f"  deliveries expected      {summary['expected_deliveries']}",
        f"  deliveries received      {summary['events_delivered']}",
        f"  lost                     {summary['lost']}",
        f"  duplicates               {summary['duplicates']}",
        f"  blocked by consent       {summary['consent_blocked']}",
        f"  fields withheld          {summary['fields_withheld']}",
        f"  leaks                    {summary['leaks']}",
        f"  consent withdrawals      {summary['withdrawals']}",
        f"  compelled disclosures    {summary['overrides']}",
        f"  elapsed                  {summary['elapsed_s']} s",
        f"  throughput               {summary['throughput_events_per_s']} events/s",
    ]
    typer.echo("\n".join(lines))
    _print_statistics(summary["statistics"])


def _print_statistics(document: dict[str, Any]) -> None:
    """The closing table: referrals by region and violence, as an observer receives it."""
    typer.echo(
        f"\nStatistics as an observer receives them (counts below {document['threshold']} "
        "read '<n', 'x' hides a cell that would give one away):"
    )
    rows = document["referrals"]
    if isinstance(rows, dict):
        typer.echo(f"  {rows['withheld']}")
        return
    for row in rows:
        labels = [str(value) for key, value in row.items() if key != "referrals"]
        typer.echo(f"  {'  '.join(f'{label:<28}' for label in labels)} {row['referrals']}")
