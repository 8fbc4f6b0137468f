"""``hub audit``: verify, replay and report on the audit log; ``hub erase``.

These are an auditor's tools, so they leave the store's shape alone: no
command migrates it, and every command refuses a SQLite path with no hub
database behind it rather than create an empty one (an empty log would
"verify", which is the one answer an auditor must never get by mistake).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hub.audit import (
    AuditRecorder,
    ConsentReport,
    Signer,
    TimelineItem,
    VerifyReport,
    agency_kinds,
    check_disclosures,
    erase_subject,
    generate_seed,
    load_public_key,
    public_key_b64,
    timeline,
    verify,
)
from hub.audit.entries import MAX_DETAIL_STRING
from hub.cli._output import fail
from hub.cli._settings import settings_or_exit
from hub.cli.run import ConfigOption
from hub.config import HubSettings
from hub.errors import ConfigError, HubError
from hub.store import Store, current_version
from hub.store import audit as audit_store

__all__ = ["app", "erase"]

app = typer.Typer(
    help="The tamper-evident audit log: verify it, replay it, report on consent.",
    no_args_is_help=True,
)
report_app = typer.Typer(help="Reports over the audit log.", no_args_is_help=True)
app.add_typer(report_app, name="report")

_FORMATS = ("table", "json", "csv")
_PROGRESS_EVERY = 10_000

DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="Store URL; overrides the configuration.")
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="From this ISO 8601 time or date, inclusive; naive means UTC."),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Up to this ISO 8601 time or date, exclusive; naive means UTC."),
]
FormatOption = Annotated[str, typer.Option("--format", help="table, json or csv.")]


# -- shared plumbing -----------------------------------------------------------


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for other databases and in-memory ones."""
    if "://" not in url:
        return Path(url).expanduser()
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # Store.open reports the malformed URL
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in {"", ":memory:"} or "mode" in parsed.query or "uri" in parsed.query:
        return None
    return Path(database).expanduser()


def _open(url: str) -> Store:
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        fail(f"no database at {path}")
    try:
        store = Store.open(url, apply_migrations=False)
    except HubError as exc:
        fail(str(exc))
    try:
        version = current_version(store.engine)
    except HubError as exc:
        store.close()
        fail(f"store unavailable: {exc}")
    if version is None:
        store.close()
        fail("the database holds no hub schema: is this the hub's store?")
    return store


@contextmanager
def _transaction(url: str) -> Iterator[Connection]:
    """One transaction on an existing hub store; its errors end the command in one line."""
    store = _open(url)
    try:
        with store.transaction() as conn:
            yield conn
    except HubError as exc:
        fail(f"store: {exc}")
    finally:
        store.close()


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 time, e.g. 2026-03-01 or 2026-03-01T09:30Z")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    start, end = _time(since, "--since"), _time(until, "--until")
    if start is not None and end is not None and start >= end:
        fail("--since must be before --until")
    return start, end


def _format(value: str) -> str:
    if value not in _FORMATS:
        fail(f"--format: {value!r} is not one of {', '.join(_FORMATS)}")
    return value


def _progress(what: str) -> Callable[[int], None]:
    def report(count: int) -> None:
        typer.echo(f"{what}: {count} entries read", err=True)

    return report


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")


def _compact(details: dict[str, Any]) -> str:
    return " ".join(
        f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in sorted(details.items())
    )


# -- verify ----------------------------------------------------------------------


def _verifying_key(public_key: str | None, settings: HubSettings) -> Ed25519PublicKey | None:
    if public_key is not None:
        try:
            return load_public_key(public_key)
        except ValueError as exc:
            fail(f"--public-key: {exc}")
    try:
        signer = Signer.from_settings(settings.audit)
    except ConfigError as exc:
        fail(str(exc))
    return signer.public_key if signer is not None else None


def _signature_note(report: VerifyReport) -> str:
    if report.checkpoints == 0:
        return (
            "no checkpoints yet: chain links verified, but removed chains or tails "
            "cannot be detected"
        )
    if report.key_id is not None:
        return (
            f"checkpoint signatures verified with key {report.key_id} "
            f"({report.signed_checkpoints} of {report.checkpoints} signed)"
        )
    if report.signed_checkpoints:
        return (
            "checkpoint signatures NOT checked: no public key given (--public-key) or "
            "configured; chain verification only"
        )
    return (
        "checkpoints are unsigned (no audit.signing_key configured): chain verification "
        "only, which cannot stop someone able to rewrite the whole database"
    )


@app.command("verify")
def verify_command(
    database: DatabaseOption = None,
    config: ConfigOption = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="Base64 Ed25519 public key that signs checkpoints; defaults to the one of "
            "the configured audit.signing_key. Auditors should pass the key they were given.",
        ),
    ] = None,
) -> None:
    """Recompute every chain and check every checkpoint; exit 1 naming the first problem."""
    settings = settings_or_exit(config, database_url=database)
    key = _verifying_key(public_key, settings)
    with _transaction(settings.database_url) as conn:
        report = verify(conn, key, progress=_progress("verify"), progress_every=_PROGRESS_EVERY)
    if report.problems:
        for problem in report.problems:
            typer.echo(str(problem))
        more = len(report.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''} listed above)" if more else ""
        fail(f"audit log altered: {report.problems[0]}{suffix}")
    typer.echo(
        f"{report.entries} entries in {report.chains} chains, "
        f"{report.checkpoints} checkpoints: verified"
    )
    typer.echo(_signature_note(report))


# -- replay ----------------------------------------------------------------------

_REPLAY_COLUMNS = (
    "at",
    "action",
    "actor",
    "chain_id",
    "seq",
    "entry_id",
    "event_id",
    "referral_id",
    "consent_id",
    "consent_version",
    "consent_status",
    "details",
)


def _replay_row(item: TimelineItem) -> list[Any]:
    entry, consent = item.entry, item.consent
    return [
        entry.at.isoformat(),
        entry.action,
        entry.actor,
        entry.chain_id,
        entry.seq,
        entry.entry_id,
        entry.event_id or "",
        entry.referral_id or "",
        entry.consent_id or "",
        consent.seq if consent is not None else "",
        consent.status if consent is not None else "",
        json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
    ]


def _replay_table(items: Sequence[TimelineItem]) -> str:
    lines = [f"{'AT':<32} {'ACTION':<18} {'ACTOR':<20} {'REFERRAL':<20} {'CONSENT':<24} DETAILS"]
    for item in items:
        entry, consent = item.entry, item.consent
        shown = entry.consent_id or "-"
        if consent is not None:
            shown = f"{shown} v{consent.seq} {consent.status}"
        lines.append(
            f"{entry.at.isoformat():<32} {entry.action:<18} {entry.actor:<20} "
            f"{entry.referral_id or '-':<20} {shown:<24} {_compact(entry.details)}"
        )
    return "\n".join(lines)


@app.command("replay")
def replay_command(
    referral: Annotated[str | None, typer.Option("--referral", help="Only this referral.")] = None,
    agency: Annotated[
        str | None, typer.Option("--agency", help="Only entries this agency made or received.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output: FormatOption = "table",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """The log in time order, each disclosure with the consent in force at its time."""
    fmt = _format(output)
    start, end = _window(since, until)
    settings = settings_or_exit(config, database_url=database)
    with _transaction(settings.database_url) as conn:
        items = timeline(conn, referral_id=referral, agency_id=agency, since=start, until=end)
    if fmt == "json":
        typer.echo(json.dumps([item.as_dict() for item in items], indent=2, ensure_ascii=False))
    elif fmt == "csv":
        typer.echo(_csv(_REPLAY_COLUMNS, [_replay_row(item) for item in items]))
    elif items:
        typer.echo(_replay_table(items))
    typer.echo(f"{len(items)} entries", err=True)


# -- report consent -------------------------------------------------------------

_REPORT_COLUMNS = (
    "kind",
    "at",
    "action",
    "referral_id",
    "event_id",
    "consent_id",
    "recipient",
    "disclosed",
    "reason",
    "detail",
    "entry_id",
)


def _report_rows(result: ConsentReport) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for violation in result.violations:
        entry = violation.entry
        rows.append(
            [
                "violation",
                entry.at.isoformat(),
                entry.action,
                entry.referral_id or "",
                entry.event_id or "",
                entry.consent_id or "",
                violation.recipient,
                " ".join(violation.disclosed),
                violation.reason,
                violation.detail,
                entry.entry_id,
            ]
        )
    for override in result.overrides:
        entry = override.entry
        rows.append(
            [
                "override",
                entry.at.isoformat(),
                entry.action,
                entry.referral_id or "",
                entry.event_id or "",
                entry.consent_id or "",
                override.recipient,
                " ".join(override.disclosed),
                "compelled",
                f"order {override.order}" if override.order else "no order id recorded",
                entry.entry_id,
            ]
        )
    return rows


def _report_table(result: ConsentReport) -> str:
    lines: list[str] = []
    for violation in result.violations:
        entry = violation.entry
        lines.append(
            f"VIOLATION {entry.at.isoformat()} {entry.action} referral "
            f"{entry.referral_id or '-'} consent {entry.consent_id or '-'} -> "
            f"{violation.recipient or '?'} [{' '.join(violation.disclosed) or 'no categories'}]: "
            f"{violation.reason}: {violation.detail} (entry {entry.entry_id})"
        )
    for override in result.overrides:
        entry = override.entry
        lines.append(
            f"OVERRIDE  {entry.at.isoformat()} referral {entry.referral_id or '-'} -> "
            f"{override.recipient or '?'} [{' '.join(override.disclosed) or 'no categories'}]: "
            f"order {override.order or '(none recorded)'} (entry {entry.entry_id})"
        )
    return "\n".join(lines)


@report_app.command("consent")
def report_consent(
    since: SinceOption = None,
    until: UntilOption = None,
    output: FormatOption = "table",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Check every disclosure against the consent in force at its time; exit 1 on a violation."""
    fmt = _format(output)
    start, end = _window(since, until)
    settings = settings_or_exit(config, database_url=database)
    with _transaction(settings.database_url) as conn:
        result = check_disclosures(
            conn,
            start,
            end,
            agency_kinds=agency_kinds(settings, conn),
            progress=_progress("report"),
            progress_every=_PROGRESS_EVERY,
        )
    if fmt == "json":
        document = {
            "checked": result.checked,
            "violations": [violation.as_dict() for violation in result.violations],
            "overrides": [override.as_dict() for override in result.overrides],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        typer.echo(_csv(_REPORT_COLUMNS, _report_rows(result)))
    elif result.violations or result.overrides:
        typer.echo(_report_table(result))
    summary = (
        f"{result.checked} disclosures checked: {len(result.violations)} not covered by "
        f"consent, {len(result.overrides)} compelled by override"
    )
    if result.violations:
        fail(summary)
    typer.echo(summary, err=fmt != "table")


# -- keys and checkpoints ---------------------------------------------------------


@app.command("keygen")
def keygen() -> None:
    """Print a new checkpoint signing key (base64 seed), then its public key."""
    seed = generate_seed()
    signer = Signer.from_seed(seed)
    typer.echo(seed)
    typer.echo(public_key_b64(signer.public_key))
    typer.echo(
        f"line 1: the signing key, for audit.signing_key (or HUB_AUDIT__SIGNING_KEY); keep it "
        f"secret. line 2: the public key (key id {signer.key_id}), for auditors' "
        "hub audit verify --public-key.",
        err=True,
    )


def _recorder(settings: HubSettings) -> AuditRecorder:
    try:
        return AuditRecorder.from_settings(settings.audit, actor=settings.hub_id)
    except ConfigError as exc:
        fail(str(exc))


@app.command("checkpoint")
def checkpoint_command(database: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Write a checkpoint over the chains grown since the last (signed if a key is set)."""
    settings = settings_or_exit(config, database_url=database)
    recorder = _recorder(settings)
    with _transaction(settings.database_url) as conn:
        latest = audit_store.latest_checkpoint(conn)
        if recorder.signer is None and latest is not None and latest.signature:
            # An unsigned checkpoint after signed ones fails every later verify.
            fail(
                f"checkpoint {latest.seq} is signed (key {latest.key_id}); configure "
                "audit.signing_key to write the next one"
            )
        row = recorder.checkpoint(conn, datetime.now(UTC))
    signed = f"signed with key {row.key_id}" if row.signature else "unsigned"
    typer.echo(f"checkpoint {row.seq} over {len(row.heads)} chains grown since the last, {signed}")


# -- erase ------------------------------------------------------------------------


def erase(
    subject: Annotated[
        str, typer.Option("--subject", help="The pseudonymous subject id to erase.")
    ],
    database: DatabaseOption = None,
    config: ConfigOption = None,
    actor: Annotated[
        str, typer.Option("--actor", help="Who asked for the erasure, for the audit entry.")
    ] = "operator",
) -> None:
    """Erase a subject: destroy her data key, so her payloads can never be read again.

    That covers every copy: the store's rows and every record the hub published
    to Kafka (ingress, agency inboxes, dead-letter topics), all sealed under it.

    The audit log keeps its proof: it never held her data, and the erasure is
    recorded in it by subject id only.
    """
    for option, value in (("--subject", subject), ("--actor", actor)):
        if not value.strip() or len(value) > MAX_DETAIL_STRING:
            fail(f"{option}: give an id of 1 to {MAX_DETAIL_STRING} characters")
    settings = settings_or_exit(config, database_url=database)
    recorder = _recorder(settings)
    with _transaction(settings.database_url) as conn:
        destroyed = erase_subject(conn, recorder, subject, actor, datetime.now(UTC))
    if destroyed:
        typer.echo(f"subject {subject} erased: her data key is destroyed")
    else:
        typer.echo(f"subject {subject} erased: she had no live data key; none will ever be issued")
