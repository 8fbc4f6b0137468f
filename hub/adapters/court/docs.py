"""The court format's published files: the XML Schema, a page, a valid example per record kind.

Generated with the contracts' docs (``hub contracts export``) into ``court/``,
and checked as fresh by ``hub contracts check`` like the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.adapters.court._csv import write_csv
from hub.adapters.court._records import RECORD_FIELDS, Record, record_of
from hub.adapters.court._xml import SCHEMA_FILE, court_schema, schema_text, write_xml
from hub.adapters.court.receipts import Receipt, ReceiptLine
from hub.adapters.directory import Directory
from hub.contracts import ContractRegistry, new_event
from hub.contracts.examples import EXAMPLES

__all__ = ["court_docs"]

_FOLDER = "court"
_COURT = "tpi-casablanca-listening-unit"
_SHELTER = "dar-al-amane-shelter"
_HOSPITAL = "chu-ibn-rochd"
_AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)

_MEANING: dict[str, str] = {
    "referral-id": "The referral, as its referrer names it.",
    "to": "The receiving agency: its hub id or an alias (court code, identifier).",
    "subject-ref": "The registry's own party id; the hub turns it into a pseudonym.",
    "service": "The service asked for: a hub code, or a code of `system`.",
    "priority": "routine, urgent or emergency.",
    "consent-ref": "The consent the referral is made under.",
    "due-by": "When the service is due, with its UTC offset.",
    "reason": "Why she is referred, in a sentence (narrative category).",
    "narrative": "Her account as recorded (narrative category).",
    "risk-level": "low, medium, high or severe (safety-risk category).",
    "case-number": "The court or prosecution case number (legal category).",
    "complaint-filed": "true or false (legal category).",
    "protection-order": "none, requested, granted or refused (legal category).",
    "data": "On deliveries: the referral's whole data as the contract's JSON; from v3 it "
    "holds the incident classification (`incident`: forms of violence, technology "
    "facilitation, perpetrator, age band, first contact) when her consent gives the court "
    "the incident category.",
    "status": "The new status: a hub status, or a code of `system`.",
    "business-status": "The registry's finer-grained status.",
    "status-reason": "Why, as a short phrase.",
    "note": "Free text for the other party (narrative category).",
    "outcome": "The outcome: a hub outcome code, or a code of `system`.",
    "occurred-at": "When it happened, with its UTC offset.",
    "next-step-at": "When the next step (a hearing) is scheduled.",
    "payload": "The event's data as the JSON of its contract.",
}


def court_docs(registry: ContractRegistry) -> dict[str, str]:
    """Relative path (under the docs folder) to content, for every court format file."""
    directory = Directory()
    examples = _examples(registry, directory)
    files = {f"{_FOLDER}/{SCHEMA_FILE}": schema_text()}
    for kind, record in examples.items():
        body = write_xml(_COURT if kind != "notice" else _HOSPITAL, [record]).decode()
        files[f"{_FOLDER}/examples/{kind}.xml"] = body
    csv_records = [examples[kind] for kind in ("status-change", "outcome")]
    files[f"{_FOLDER}/examples/export.csv"] = write_csv(csv_records).decode()
    receipt = Receipt(
        "export-0001.xml",
        _AT,
        lines=[
            ReceiptLine(
                "/court-records/status-change[1]",
                True,
                "UE-0001",
                examples["status-change"].record_id,
            ),
            ReceiptLine(
                "/court-records/outcome[1]/outcome",
                False,
                "UE-0002",
                reason="no code map for urn:example:registry|X-1",
            ),
        ],
    )
    files[f"{_FOLDER}/examples/receipt.xml"] = receipt.render("xml").decode()
    for path, text in files.items():
        if path.endswith(".xml") and "examples/" in path:
            court_schema().validate(text)
    files[f"{_FOLDER}/README.md"] = _page(files)
    return files


def _examples(registry: ContractRegistry, directory: Directory) -> dict[str, Record]:
    referral = EXAMPLES[("referral.requested", 2)].model_copy(
        update={"from_agency": _COURT, "to_agency": _SHELTER}
    )
    events = {
        "referral": new_event(referral, source=_COURT, event_id="UE-2026-0412", time=_AT),
        "status-change": new_event(
            EXAMPLES[("referral.status-changed", 1)], source=_COURT, event_id="UE-0001", time=_AT
        ),
        "outcome": new_event(
            EXAMPLES[("referral.outcome-reported", 1)], source=_COURT, event_id="UE-0002", time=_AT
        ),
        "notice": new_event(
            EXAMPLES[("consent.withdrawn", 1)], source=_HOSPITAL, event_id="EV-0003", time=_AT
        ),
    }
    return {kind: record_of(event, registry, directory) for kind, event in events.items()}


def _page(files: dict[str, str]) -> str:
    lines = [
        "# Court exchange format (court-records v1)",
        "",
        "Court and prosecution registries exchange records with the hub as files, in a folder "
        "or on an SFTP server. This page is generated from the hub's code "
        "(`hub contracts export`); the schema is "
        f"[`{SCHEMA_FILE}`]({SCHEMA_FILE}), namespace `urn:referral-hub:court-records:v1`.",
        "",
        "## Files",
        "",
        "- **From the court** (its `outgoing` folder): one `<court-records sender=...>` document "
        "per file, any number of records. A file is taken once complete: under its final name "
        "(write it as `.name` or `name.tmp`/`name.part`, then rename), or, when configured, once "
        "`name.done` exists beside it. Each record carries the registry's `record-id` (sent "
        "again, in this file or another, it is taken once) and `recorded-at`.",
        "- **Receipts** (`outgoing/receipts/NAME.receipt.xml`): per record, accepted with the "
        "event id it became, or refused with the reason and its XPath (CSV: its line); or the "
        "file refused whole (not XML/CSV, empty, truncated, too large, a link, a name outside "
        "`[A-Za-z0-9._-]`). The file then moves to `processed/` or `rejected/`.",
        "- **To the court** (its `incoming` folder): one file per event, `hub-<hash>.xml`, "
        "written under a temporary name, flushed, then renamed; `manifest.csv` lists each "
        "offered file with its SHA-256 and event id. Acknowledge by writing `acks/*.ack` files "
        "with one event id per line (or, when configured, by removing the file). A listed file "
        "removed unacknowledged is written again.",
        "",
        "Agencies are named by hub id or any alias the hub's configuration gives them (court "
        "codes, FHIR references, `system|value` identifiers). Codes are hub codes, or a code "
        "of the element's `system` attribute mapped in the configuration's `[[code_maps]]`.",
        "",
        "## Record kinds",
        "",
    ]
    titles = {
        "referral": "referral (referral.requested)",
        "status-change": "status-change (referral.status-changed)",
        "outcome": "outcome (referral.outcome-reported)",
        "notice": "notice (any other event, written by the hub only)",
    }
    for kind, title in titles.items():
        lines += [f"### {title}", "", "| element | meaning |", "| --- | --- |"]
        lines += [f"| `{name}` | {_MEANING[name]} |" for name in RECORD_FIELDS[kind]]
        lines += ["", "```xml", files[f"{_FOLDER}/examples/{kind}.xml"].rstrip(), "```", ""]
    lines += [
        "## CSV variant",
        "",
        "For registries that export spreadsheets: a header row, then one row per record, "
        "columns `kind`, `record-id`, `recorded-at`, the element names above, and "
        "`<element>-system` for a code's system. A court may rename columns "
        "(`csv_columns` in its configuration); receipts then come as CSV too.",
        "",
        "```csv",
        files[f"{_FOLDER}/examples/export.csv"].rstrip(),
        "```",
        "",
        "## Receipt",
        "",
        "```xml",
        files[f"{_FOLDER}/examples/receipt.xml"].rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)
