"""``hub contracts``: list, export, check and validate the versioned contracts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.adapters.court.docs import court_docs
from hub.cli._output import fail
from hub.contracts import default_registry
from hub.contracts.checks import category_problems, compatibility_problems, stale_docs
from hub.contracts.docs import export_docs
from hub.contracts.validation import read_event_file, validate_event_bytes
from hub.errors import ContractError, InvalidPayload
from hub.observability.catalogue import metrics_docs

app = typer.Typer(
    help="Inspect, export, check and validate the event contracts.", no_args_is_help=True
)

DEFAULT_DOCS = Path("contracts-docs")


@app.command("list")
def list_contracts(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List every event type and version with its compatibility mode and schema URI."""
    rows = [
        {
            "type": contract.event_type,
            "version": contract.version,
            "compatibility": contract.compatibility.value,
            "dataschema": contract.dataschema,
        }
        for contract in default_registry()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len(row["type"]) for row in rows)  # type: ignore[arg-type]
    typer.echo(f"{'TYPE':<{width}}  VER  MODE      DATASCHEMA")
    for row in rows:
        typer.echo(
            f"{row['type']:<{width}}  v{row['version']:<3} {row['compatibility']:<9} "
            f"{row['dataschema']}"
        )


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the docs into.")] = (
        DEFAULT_DOCS
    ),
) -> None:
    """Write JSON Schemas, one page per event, the AsyncAPI document and an index."""
    written = export_docs(
        default_registry(), out, {**court_docs(default_registry()), **metrics_docs()}
    )
    typer.echo(f"wrote {len(written)} files to {out}")


@app.command()
def check(
    docs: Annotated[Path, typer.Option("--docs", help="The committed docs folder.")] = (
        DEFAULT_DOCS
    ),
) -> None:
    """Fail on a change that breaks a type's compatibility mode, uncategorised free text,
    or stale docs."""
    problems = compatibility_problems(default_registry())
    problems += category_problems(default_registry())
    problems += stale_docs(
        default_registry(), docs, {**court_docs(default_registry()), **metrics_docs()}
    )
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"contracts check passed: {len(list(default_registry()))} contracts, docs current")


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="A structured CloudEvent JSON file, or - for stdin.")],
) -> None:
    """Validate one structured CloudEvent against its contract."""
    try:
        raw = sys.stdin.buffer.read() if file == "-" else read_event_file(Path(file))
        contract = validate_event_bytes(raw, default_registry())
    except InvalidPayload as exc:
        if exc.fields == ("(root)",):
            fail(exc.errors[0][1])
        typer.echo(f"invalid: {len(exc.errors)} field(s)", err=True)
        for path, message in exc.errors:
            typer.echo(f"  {path}: {message}", err=True)
        raise typer.Exit(1) from None
    except ContractError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    typer.echo(f"valid: {contract.event_type} v{contract.version}")
