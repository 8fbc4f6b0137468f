"""``hub adapters``: list the adapters, decode native files, encode canonical events.

Meant for agency IT teams testing their exports against the contracts, so every
failure is one line naming the element at fault, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.adapters import AdapterContext, build_adapter, load_adapters
from hub.adapters.court._xml import MAX_FILE_BYTES
from hub.adapters.directory import Directory
from hub.adapters.social_db import AgencyDatabase, AgencyDatabaseError, check_schema
from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.cli.run import ConfigOption
from hub.config.social_db import SocialDbDelivery
from hub.contracts import default_registry, parse_structured
from hub.errors import ConfigError, ContractError, HubError

__all__ = ["app"]

app = typer.Typer(
    help="Translate between agency-native formats and canonical events.", no_args_is_help=True
)

_VERSIONS = ("r4", "r5")

AdapterName = Annotated[
    str, typer.Argument(help="The adapter, e.g. fhir (see: hub adapters list).")
]
FhirVersionOption = Annotated[
    str | None, typer.Option("--fhir-version", help="FHIR version: r4 or r5.", show_default=False)
]


@app.command("list")
def list_adapters(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List the adapters: built-in ones and those installed packages declare."""
    try:
        adapters = load_adapters()
    except ConfigError as exc:
        fail(str(exc))
    rows = [
        {"name": name, "class": f"{adapter.__module__}.{adapter.__qualname__}"}
        for name, adapter in adapters.items()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        typer.echo(f"{row['name']:<{width}}  {row['class']}")


@app.command()
def decode(
    adapter: AdapterName,
    file: Annotated[str, typer.Argument(help="The native file, or - for stdin.")],
    fhir_version: FhirVersionOption = None,
    source: Annotated[
        str | None, typer.Option("--source", help="The sending agency (the events' source).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the canonical events (structured CloudEvents, one JSON array) a file holds."""
    settings = settings_or_exit(config)
    options = {"fhir_version": _version(fhir_version)} if fhir_version is not None else {}
    context = AdapterContext(
        pseudonym_key=settings.pseudonym_key.get_secret_value().encode(),
        source=source,
        options=options,
        directory=Directory.from_settings(settings),
    )
    raw = _read(file)
    try:
        events = build_adapter(adapter, context).decode(raw)
    except HubError as exc:
        fail(_one_line(exc))
    typer.echo(json.dumps([event.structured() for event in events], indent=2, ensure_ascii=False))


@app.command()
def encode(
    adapter: AdapterName,
    event_file: Annotated[str, typer.Argument(help="A structured CloudEvent file, or -.")],
    fhir_version: FhirVersionOption = None,
    config: ConfigOption = None,
) -> None:
    """Print one canonical event in the adapter's native form."""
    settings = settings_or_exit(config)
    version = _version(fhir_version) if fhir_version is not None else None
    context = AdapterContext(
        pseudonym_key=settings.pseudonym_key.get_secret_value().encode(),
        directory=Directory.from_settings(settings),
    )
    raw = _read(event_file)
    try:
        event = parse_structured(raw)
        default_registry().parse(event)
        native = build_adapter(adapter, context).encode(event, target_version=version)
    except ContractError as exc:
        fail(f"{event_file}: {_one_line(exc)}")
    except HubError as exc:
        fail(_one_line(exc))
    if isinstance(native, bytes):
        sys.stdout.buffer.write(native)
        return
    typer.echo(json.dumps(native, indent=2, ensure_ascii=False))


@app.command()
def check(
    adapter: AdapterName,
    agency: Annotated[str, typer.Option("--agency", help="The agency whose system to check.")],
    config: ConfigOption = None,
) -> None:
    """Connect to an agency's system and report every mismatch with its mapping.

    For social-db: each mapped table and column, its type, and the inbound
    table's key on the event id; exit 0 when they agree, 1 listing each one.
    """
    settings = settings_or_exit(config)
    if adapter != "social-db":
        fail(f"hub adapters check knows social-db only, not {adapter!r}")
    found = settings.agency(agency)
    if found is None:
        fail(f"--agency: no agency {agency!r} in the configuration")
    if not isinstance(found.delivery, SocialDbDelivery):
        fail(f"--agency: {agency} is configured for {found.delivery.mode}, not social-db")
    try:
        database = AgencyDatabase.connect(agency, found.delivery)
    except AgencyDatabaseError as exc:
        fail(_one_line(exc))
    try:
        mismatches = check_schema(database)
    finally:
        database.close()
    if mismatches:
        for mismatch in mismatches:
            typer.echo(f"{agency}: {mismatch}", err=True)
        raise typer.Exit(1)
    tables = len(found.delivery.outgoing) + (1 if found.delivery.inbound else 0)
    typer.echo(f"{agency}: {tables} tables match the mapping")


def _version(value: str) -> str:
    version = value.strip().lower()
    if version not in _VERSIONS:
        fail(f"--fhir-version must be r4 or r5, not {value!r}")
    return version


#: The largest input any built-in adapter reads (a court registry's batch file).
_MAX_INPUT_BYTES = MAX_FILE_BYTES


def _read(file: str) -> bytes:
    """At most one byte over the limit, so a huge file is refused without reading it all."""
    try:
        if file == "-":
            return sys.stdin.buffer.read(_MAX_INPUT_BYTES + 1)
        with Path(file).open("rb") as handle:
            return handle.read(_MAX_INPUT_BYTES + 1)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
