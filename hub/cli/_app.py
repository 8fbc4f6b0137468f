"""The root ``hub`` command and its sub-command groups."""

from __future__ import annotations

import typer

from hub.cli import adapters, agencies, audit, contracts, db, demo, dlq, run, stats, top

app = typer.Typer(
    name="hub",
    help="Referral Hub: the consent-aware exchange of referrals between agencies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(contracts.app, name="contracts")
app.add_typer(agencies.app, name="agencies")
app.add_typer(adapters.app, name="adapters")
app.add_typer(dlq.app, name="dlq")
app.add_typer(audit.app, name="audit")
app.add_typer(db.app, name="db")
app.add_typer(stats.app, name="stats")
app.command("erase")(audit.erase)
app.command("run")(run.run)
app.command("broker")(run.broker)
app.command("demo")(demo.demo)
app.command("top")(top.top)


def main() -> None:
    app()
