"""The generated contract documentation: JSON Schemas, one page per event type, AsyncAPI, index.

Every byte written is a function of the registry alone (no clock, no random ids, no
absolute paths), so ``hub contracts check`` can compare a fresh export with the
committed folder and call any difference stale.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hub import __version__
from hub.contracts.categories import CATEGORY_KEY, UNCATEGORISED_KEY, field_categories
from hub.contracts.compatibility import CompatibilityReport, classify
from hub.contracts.envelope import (
    DLQ_REASON_HEADER,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    new_event,
    to_kafka,
)
from hub.contracts.registry import Contract, ContractRegistry
from hub.contracts.status import MOVED_BY, TERMINAL, TRANSITIONS, ReferralStatus

__all__ = [
    "ASYNCAPI_FILE",
    "DLQ_REASON_HEADER",
    "EXAMPLE_TIME",
    "INDEX_FILE",
    "example_event",
    "export_docs",
    "page_path",
    "render_asyncapi",
    "render_docs",
    "render_index",
    "render_page",
    "schema_path",
]

ASYNCAPI_FILE = "asyncapi.yaml"
INDEX_FILE = "README.md"
#: The ``time`` of every example event: the moment the invented examples take place.
EXAMPLE_TIME = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)

JsonObject = dict[str, Any]

#: Header of a dead letter saying why the hub gave up on the record.
_KAFKA_BINDING_VERSION = "0.5.0"
_PAYLOAD_FORMAT = "application/schema+json;version=draft-2020-12"
#: Types only the hub itself emits; adapters never publish them on ``hub.ingress``.
_HUB_EMITTED_TYPES = frozenset({"delivery.failed"})

#: (header, always present, meaning) for the Kafka binary content mode.
_KAFKA_HEADERS: tuple[tuple[str, bool, str], ...] = (
    ("content-type", True, "Always `application/json`: the record value is the event's `data`."),
    ("ce_specversion", True, "CloudEvents version, `1.0`."),
    ("ce_id", True, "Event id, unique per source; consumers drop a repeated id."),
    ("ce_source", True, "The agency (or the hub) that produced the event."),
    ("ce_type", True, "The event type."),
    ("ce_time", True, "When it happened: RFC 3339, UTC."),
    ("ce_subject", True, "What the event is about; equals the record key."),
    (
        "ce_dataschema",
        True,
        "The `$id` of the payload's JSON Schema: names type and version.",
    ),
    ("ce_consentid", False, "The consent under which the data is shared."),
    ("ce_correlationid", False, "Ties together the events of one exchange."),
    ("ce_traceparent", False, "W3C Trace Context of the producing request."),
)


def export_docs(
    registry: ContractRegistry, out: Path, extra: Mapping[str, str] | None = None
) -> list[Path]:
    """Write every generated file under ``out`` (and ``extra``'s); the paths written, sorted."""
    written: list[Path] = []
    for relative, text in {**render_docs(registry), **(extra or {})}.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # Bytes, not text mode, so no platform turns "\n" into "\r\n".
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def render_docs(registry: ContractRegistry) -> dict[str, str]:
    """Relative path to file content, for everything ``export_docs`` writes."""
    files = {schema_path(contract): _json_text(contract.json_schema()) for contract in registry}
    for event_type in registry.types():
        files[page_path(event_type)] = render_page(registry, event_type)
    files[ASYNCAPI_FILE] = render_asyncapi(registry)
    files[INDEX_FILE] = render_index(registry)
    return dict(sorted(files.items()))


def schema_path(contract: Contract) -> str:
    return f"schemas/{contract.event_type}/v{contract.version}.json"


def page_path(event_type: str) -> str:
    return f"{event_type}.md"


def example_event(contract: Contract) -> CloudEvent:
    """The contract's example wrapped in an envelope that is the same on every run."""
    payload = contract.example
    source = getattr(payload, "from_agency", None) or getattr(payload, "recorded_by", None)
    # A consent event is about its consent; only other events are shared under one.
    consent = (
        None if payload.subject_field == "consent_id" else getattr(payload, "consent_id", None)
    )
    return new_event(
        payload,
        source=str(source or "referral-hub"),
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, contract.dataschema)),
        time=EXAMPLE_TIME,
        consent_id=consent,
    )


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _lines_text(sections: Iterable[list[str]]) -> str:
    """Sections joined by one blank line, with a single trailing newline."""
    blocks = ["\n".join(section).rstrip() for section in sections if section]
    return "\n\n".join(blocks) + "\n"


def _cell(text: str) -> str:
    """Prose for a Markdown table cell or paragraph: one line, pipes escaped."""
    return _escape_pipes(" ".join(text.split()))


def _escape_pipes(text: str) -> str:
    return text.replace("|", "\\|")


def _code_list(values: Iterable[object]) -> str:
    return ", ".join(f"`{value}`" for value in values)


# --- one page per event type ------------------------------------------------------------------


def render_page(registry: ContractRegistry, event_type: str) -> str:
    latest = registry.latest(event_type)
    contracts = [registry.get(event_type, version) for version in registry.versions(event_type)]
    schema = latest.json_schema()
    return _lines_text(
        [
            _page_header(latest, contracts),
            _fields_section(latest),
            _parts_section(schema),
            _code_lists_section(schema),
            _transitions_section() if event_type.startswith("referral.") else [],
            _examples_section(contracts),
            _kafka_section(latest),
            _changes_section(contracts),
        ]
    )


def _page_header(latest: Contract, contracts: list[Contract]) -> list[str]:
    lines = [
        f"# `{latest.event_type}`",
        "",
        latest.summary,
        "",
        "| Version | JSON Schema | `dataschema` | Compatibility |",
        "|---|---|---|---|",
    ]
    for contract in contracts:
        path = schema_path(contract)
        lines.append(
            f"| v{contract.version} | [{path}]({path}) | `{contract.dataschema}` "
            f"| {contract.compatibility.value} |"
        )
    lines += ["", _channels_note(latest.event_type)]
    return lines


def _channels_note(event_type: str) -> str:
    inbox = "`agency.{agencyId}.inbox`"
    if event_type in _HUB_EMITTED_TYPES:
        where = f"Only the hub emits it, on the sending agency's {inbox}."
    else:
        where = (
            "Adapters and the HTTP API publish it on `hub.ingress`; the hub delivers each "
            f"recipient its own copy on {inbox}."
        )
    return f"{where} Channels and bindings: [{ASYNCAPI_FILE}]({ASYNCAPI_FILE})."


def _fields_section(contract: Contract) -> list[str]:
    schema = contract.json_schema()
    required = set(schema.get("required", []))
    categories = field_categories(contract.model)
    lines = [
        f"## Fields (v{contract.version})",
        "",
        "Routing fields reach every recipient of the event. A field with a data category "
        "reaches a recipient only when the survivor's consent covers that category for that "
        "recipient; otherwise it is left out of that recipient's copy. A field that is not "
        "required may be left out or sent as `null`.",
        "",
        "| Field | Type | Required | Data category | Description |",
        "|---|---|---|---|---|",
    ]
    for name, prop in schema["properties"].items():
        category = categories.get(name)
        label = category.value if category is not None else "routing"
        if UNCATEGORISED_KEY in prop:
            # Free text outside the categories on purpose: say why, where auditors read.
            label = f"routing text ({prop[UNCATEGORISED_KEY]})"
        lines.append(
            f"| `{name}` | {_type_text(prop)} | {'yes' if name in required else 'no'} "
            f"| {label} "
            f"| {_cell(prop.get('description', ''))} |"
        )
    return lines


def _parts_section(schema: JsonObject) -> list[str]:
    parts = {name: part for name, part in schema.get("$defs", {}).items() if "properties" in part}
    if not parts:
        return []
    carriers = _carriers(schema)
    lines = ["## Nested parts"]
    for name, part in parts.items():
        lines += ["", f"### {name}", ""]
        if "description" in part:
            lines += [_cell(part["description"]), ""]
        if name in carriers:
            lines += [f"Carried in {carriers[name]}.", ""]
        lines += _part_table(part)
    return lines


def _part_table(part: JsonObject) -> list[str]:
    required = set(part.get("required", []))
    lines = ["| Field | Type | Required | Description |", "|---|---|---|---|"]
    for name, prop in part["properties"].items():
        lines.append(
            f"| `{name}` | {_type_text(prop)} | {'yes' if name in required else 'no'} "
            f"| {_cell(prop.get('description', ''))} |"
        )
    return lines


def _carriers(schema: JsonObject) -> dict[str, str]:
    """Part name to the top-level fields holding it, each with its data category."""
    found: dict[str, list[str]] = {}
    for name, prop in schema["properties"].items():
        category = prop.get(CATEGORY_KEY, "routing")
        for part in _refs(prop, schema.get("$defs", {}), set()):
            found.setdefault(part, []).append(f"`{name}` ({category})")
    return {part: ", ".join(fields) for part, fields in found.items()}


def _refs(node: Any, defs: Mapping[str, Any], seen: set[str]) -> list[str]:
    """Names of the ``$defs`` reachable from ``node``, in the order first met."""
    if isinstance(node, list):
        return [name for item in node for name in _refs(item, defs, seen)]
    if not isinstance(node, dict):
        return []
    found: list[str] = []
    ref = node.get("$ref")
    if isinstance(ref, str) and (name := _ref_name(ref)) not in seen:
        seen.add(name)
        found += [name, *_refs(defs.get(name), defs, seen)]
    for key, value in node.items():
        if key != "$ref":
            found += _refs(value, defs, seen)
    return found


def _code_lists_section(schema: JsonObject) -> list[str]:
    codes = {name: code for name, code in schema.get("$defs", {}).items() if "enum" in code}
    if not codes:
        return []
    lines = ["## Code lists"]
    for name, code in codes.items():
        lines += ["", f"### {name}", ""]
        if "description" in code:
            lines += [_cell(code["description"]), ""]
        lines.append(f"{_code_list(code['enum'])}.")
    return lines


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_text(prop: Mapping[str, Any]) -> str:
    """A property's JSON Schema as a short phrase for a Markdown table cell."""
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return f"[{name}](#{name.lower()})"
    if "anyOf" in prop:
        members = [member for member in prop["anyOf"] if member.get("type") != "null"]
        return " or ".join(_type_text(member) for member in members)
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return "one of " + _code_list(prop["enum"])
    kind = str(prop.get("type", "any"))
    if kind == "array":
        return f"array of {_type_text(prop.get('items', {}))}{_range(prop, 'minItems', 'maxItems')}"
    return kind + _string_constraints(prop) + _range(prop, "minimum", "maximum")


def _string_constraints(prop: Mapping[str, Any]) -> str:
    text = _range(prop, "minLength", "maxLength", unit=" characters")
    if "format" in prop:
        text += f" ({prop['format']})"
    if "pattern" in prop:
        # Escaped, not collapsed: whitespace inside a pattern is significant.
        text += f" matching `{_escape_pipes(prop['pattern'])}`"
    return text


def _range(prop: Mapping[str, Any], low: str, high: str, unit: str = "") -> str:
    if low in prop and high in prop:
        return f" ({prop[low]} to {prop[high]}{unit})"
    if low in prop:
        return f" (at least {prop[low]}{unit})"
    if high in prop:
        return f" (at most {prop[high]}{unit})"
    return ""


def _transitions_section() -> list[str]:
    order = list(ReferralStatus)
    lines = [
        "## Status transitions",
        "",
        "A referral starts as `requested`; `referral.status-changed` may only make these moves "
        "(the FHIR `Task.status` codes).",
        "",
        "| From | May move to |",
        "|---|---|",
    ]
    for status in order:
        if status in TRANSITIONS:
            # Sets have no stable order across processes; the enum's order is.
            targets = sorted(TRANSITIONS[status], key=order.index)
            lines.append(f"| `{status}` | {_code_list(targets)} |")
    terminal = [status for status in order if status in TERMINAL]
    lines += [
        "",
        f"Terminal: {_code_list(terminal)}.",
        "",
        "Who may make each move; the hub refuses any other party's with 403:",
        "",
        "| Move to | Made by |",
        "|---|---|",
    ]
    movers = [status for status in order if status in MOVED_BY]
    lines += [f"| `{status}` | {MOVED_BY[status].value} |" for status in movers]
    return lines


def _examples_section(contracts: list[Contract]) -> list[str]:
    lines = [
        "## Examples",
        "",
        f"Structured mode (`{STRUCTURED_CONTENT_TYPE}`), as `hub contracts validate` reads it. "
        "Every value is invented.",
    ]
    for contract in contracts:
        structured = example_event(contract).structured()
        lines += ["", f"### v{contract.version}", "", "```json", _json_text(structured).rstrip()]
        lines.append("```")
    return lines


def _kafka_section(contract: Contract) -> list[str]:
    record = to_kafka(example_event(contract))
    present = {name: value.decode() for name, value in record.headers}
    subject = contract.model.subject_field
    lines = [
        "## Kafka binding",
        "",
        "Binary content mode: the CloudEvents attributes travel as `ce_*` headers and the record "
        f"value is the `data` object as compact UTF-8 JSON. The record key is the subject, "
        f"`data.{subject}`, so every event about one `{subject}` stays in order on one "
        "partition.",
        "",
        f"Record key of the v{contract.version} example: `{record.key.decode()}`",
        "",
        "| Header | Always | Example value | Meaning |",
        "|---|---|---|---|",
    ]
    for name, always, meaning in _KAFKA_HEADERS:
        value = f"`{present[name]}`" if name in present else ""
        lines.append(f"| `{name}` | {'yes' if always else 'no'} | {value} | {meaning} |")
    return lines


def _changes_section(contracts: list[Contract]) -> list[str]:
    lines = ["## Changes between versions", ""]
    first = contracts[0]
    lines.append(f"- **v{first.version}**: {first.changes or 'The first version.'}")
    for older, newer in itertools.pairwise(contracts):
        lines.append(f"- **v{newer.version}**: {newer.changes or 'No notes.'}")
        lines += [f"  {line}" for line in _classification(older, newer)]
    if len(contracts) == 1:
        lines += [
            "",
            f"Only v{first.version} exists, so there is nothing to compare yet. A new version "
            "declares the compatibility mode it keeps towards the previous one, and "
            "`hub contracts check` fails when it does not.",
        ]
    return lines


def _classification(older: Contract, newer: Contract) -> list[str]:
    report = classify(older.json_schema(), newer.json_schema())
    kept = report.satisfies(newer.compatibility)
    verdict = "keeps" if kept else "breaks"
    return [
        f"- Classified v{older.version} → v{newer.version}: **{report.level.value}**; "
        f"{verdict} the declared {newer.compatibility.value} mode.",
        f"- Backward (v{newer.version} readers, v{older.version} events): "
        + _direction(report, backward=True),
        f"- Forward (v{older.version} readers, v{newer.version} events): "
        + _direction(report, backward=False),
    ]


def _direction(report: CompatibilityReport, *, backward: bool) -> str:
    breaks = report.backward_breaks if backward else report.forward_breaks
    if not breaks:
        return "compatible."
    return "breaks on " + ", ".join(f"`{difference}`" for difference in breaks) + "."


# --- AsyncAPI ---------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """YAML without anchors: a shared dict is written out in full wherever it appears."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_asyncapi(registry: ContractRegistry) -> str:
    document: JsonObject = {
        "asyncapi": "3.0.0",
        "info": _asyncapi_info(),
        "defaultContentType": "application/json",
        "servers": _asyncapi_servers(),
        "channels": _asyncapi_channels(registry),
        "operations": _asyncapi_operations(),
        "components": {
            "schemas": _asyncapi_schemas(),
            "messages": _asyncapi_messages(registry),
        },
    }
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return str(text)


def _asyncapi_info() -> JsonObject:
    return {
        "title": "Referral Hub",
        "version": __version__,
        "description": (
            "The consent-aware exchange of referrals between agencies. Adapters and the HTTP "
            "API publish canonical events (CloudEvents 1.0, Kafka binary content mode) on "
            "`hub.ingress`; the hub checks each against its versioned contract and the "
            "survivor's consent, then delivers to every recipient a copy holding only the "
            "data categories her consent covers for that recipient. Records the hub publishes "
            "hold the event's `data` sealed under the survivor's own key (the value is an "
            "AES-GCM envelope, marked by the `hub_sealed` header; the attributes stay in the "
            "`ce_*` headers), so erasing her makes every copy unreadable; a record without "
            "that header is read as it is. Each event type has its own page next to this "
            "document."
        ),
        "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
    }


def _asyncapi_servers() -> JsonObject:
    return {
        "kafka": {
            "host": "{bootstrap}",
            "protocol": "kafka",
            "description": "The Kafka cluster shared by the hub and the adapters.",
            "variables": {
                "bootstrap": {
                    "default": "localhost:9092",
                    "description": "A bootstrap broker, host:port, of the deployment.",
                }
            },
        }
    }


def _message_refs(ids: Iterable[str]) -> JsonObject:
    return {message_id: {"$ref": f"#/components/messages/{message_id}"} for message_id in ids}


def _message_id(contract: Contract) -> str:
    return f"{contract.event_type}.v{contract.version}"


def _asyncapi_channels(registry: ContractRegistry) -> JsonObject:
    every = [_message_id(contract) for contract in registry]
    ingress = [_message_id(c) for c in registry if c.event_type not in _HUB_EMITTED_TYPES]
    agency = {
        "agencyId": {
            "description": "The recipient agency's id (a slug, as in its consent scopes).",
            "examples": ["tpi-casablanca-listening-unit"],
        }
    }
    return {
        "hubIngress": {
            "address": "hub.ingress",
            "title": "Ingress",
            "description": (
                "Canonical events as adapters and the HTTP API publish them: every type but "
                "those only the hub emits."
            ),
            "messages": _message_refs(ingress),
        },
        "agencyInbox": {
            "address": "agency.{agencyId}.inbox",
            "title": "Agency inbox",
            "description": (
                "One recipient's copies: categories its consent does not cover are left out, so "
                "each copy still validates against the same contract."
            ),
            "parameters": agency,
            "messages": _message_refs(every),
        },
        "agencyDeadLetters": {
            "address": "agency.{agencyId}.dlq",
            "title": "Agency dead letters",
            "description": "Copies that could not be delivered to the agency.",
            "parameters": agency,
            "messages": _message_refs(["deadLetter"]),
        },
        "hubIngressDeadLetters": {
            "address": "hub.ingress.dlq",
            "title": "Ingress dead letters",
            "description": "Records from `hub.ingress` the hub refused or could not process.",
            "messages": _message_refs(["deadLetter"]),
        },
        "hubAudit": {
            "address": "hub.audit",
            "title": "Audit trail",
            "description": "Hash-chained audit entries: who did what, under which consent.",
            "messages": _message_refs(["auditEntry"]),
        },
    }


def _asyncapi_operations() -> JsonObject:
    def operation(action: str, channel: str, summary: str) -> JsonObject:
        return {"action": action, "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary}

    return {
        "receiveIngress": operation("receive", "hubIngress", "Take in canonical events."),
        "sendToAgencyInbox": operation(
            "send", "agencyInbox", "Deliver a consent-redacted copy to one recipient."
        ),
        "sendAgencyDeadLetter": operation(
            "send", "agencyDeadLetters", "Park a copy the hub could not deliver."
        ),
        "sendIngressDeadLetter": operation(
            "send", "hubIngressDeadLetters", "Park an ingress record the hub refused."
        ),
        "sendAuditEntry": operation("send", "hubAudit", "Record an audit entry."),
    }


def _asyncapi_schemas() -> JsonObject:
    return {
        "cloudEventHeaders": _cloud_event_headers(),
        "deadLetterHeaders": {
            "type": "object",
            "description": "The original record's headers, unchanged, and the reason.",
            "required": [DLQ_REASON_HEADER],
            "properties": {
                DLQ_REASON_HEADER: {"type": "string", "description": "Why the hub gave up."}
            },
        },
        "auditEntry": _audit_entry_schema(),
    }


def _cloud_event_headers() -> JsonObject:
    properties: JsonObject = {
        name: {"type": "string", "description": meaning} for name, _, meaning in _KAFKA_HEADERS
    }
    properties["content-type"]["const"] = "application/json"
    properties["ce_specversion"]["const"] = "1.0"
    properties["ce_time"]["format"] = "date-time"
    properties["ce_dataschema"]["format"] = "uri"
    return {
        "type": "object",
        "description": "CloudEvents attributes in Kafka binary content mode.",
        "required": [name for name, always, _ in _KAFKA_HEADERS if always],
        "properties": properties,
    }


def _audit_entry_schema() -> JsonObject:
    def text(description: str, *, nullable: bool = False) -> JsonObject:
        return {"type": ["string", "null"] if nullable else "string", "description": description}

    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "chain_id",
            "seq",
            "entry_id",
            "at",
            "action",
            "actor",
            "details",
            "prev_hash",
            "hash",
        ],
        "properties": {
            "chain_id": text("The hash chain this entry extends."),
            "seq": {"type": "integer", "minimum": 0, "description": "Position in the chain."},
            "entry_id": text("Unique id of the entry."),
            "at": {"type": "string", "format": "date-time", "description": "When, in UTC."},
            "action": text("What was done."),
            "actor": text("Who did it: an agency id or the hub."),
            "event_id": text("The event concerned.", nullable=True),
            "referral_id": text("The referral concerned.", nullable=True),
            "consent_id": text("The consent the action relied on.", nullable=True),
            "details": {"type": "object", "description": "Facts specific to the action."},
            "prev_hash": text("Hash of the previous entry in the chain."),
            "hash": text("Hash of this entry, `prev_hash` included."),
        },
    }


def _asyncapi_messages(registry: ContractRegistry) -> JsonObject:
    messages: JsonObject = {
        _message_id(contract): _event_message(contract) for contract in registry
    }
    messages["deadLetter"] = {
        "name": "deadLetter",
        "title": "Dead letter",
        "summary": "The original record (key, value, headers) with the reason added as a header.",
        "headers": {"$ref": "#/components/schemas/deadLetterHeaders"},
        "payload": {"description": "The original record value, byte for byte; may be invalid."},
    }
    messages["auditEntry"] = {
        "name": "auditEntry",
        "title": "Audit entry",
        "summary": "One entry of the tamper-evident audit trail.",
        "payload": {"$ref": "#/components/schemas/auditEntry"},
        "bindings": {"kafka": _key_binding("The `chain_id`: one chain stays in order.")},
    }
    return messages


def _event_message(contract: Contract) -> JsonObject:
    event = example_event(contract)
    record = to_kafka(event)
    return {
        "name": contract.event_type,
        "title": f"{contract.event_type} v{contract.version}",
        "summary": contract.summary,
        "contentType": "application/json",
        "headers": {
            "allOf": [
                {"$ref": "#/components/schemas/cloudEventHeaders"},
                {
                    "properties": {
                        "ce_type": {"const": contract.event_type},
                        "ce_dataschema": {"const": contract.dataschema},
                    }
                },
            ]
        },
        "payload": {
            "schemaFormat": _PAYLOAD_FORMAT,
            "schema": {"$ref": f"./{schema_path(contract)}"},
        },
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {"kafka": _key_binding(f"The subject: `data.{contract.model.subject_field}`.")},
        "examples": [
            {
                "name": f"{contract.event_type}.v{contract.version}",
                "headers": {name: value.decode() for name, value in record.headers},
                "payload": event.data,
            }
        ],
    }


def _key_binding(description: str) -> JsonObject:
    return {
        "key": {"type": "string", "description": description},
        "bindingVersion": _KAFKA_BINDING_VERSION,
    }


# --- index ------------------------------------------------------------------------------------


def render_index(registry: ContractRegistry) -> str:
    pages = ["## Event types", ""]
    for event_type in registry.types():
        latest = registry.latest(event_type)
        pages.append(f"- [`{event_type}`]({page_path(event_type)}): {latest.summary}")
    schemas = ["## JSON Schemas (draft 2020-12)", ""]
    schemas += [f"- [{schema_path(c)}]({schema_path(c)}): `{c.dataschema}`" for c in registry]
    return _lines_text(
        [
            [
                "# Referral Hub contracts",
                "",
                "Generated from `hub.contracts`; do not edit by hand.",
            ],
            pages,
            schemas,
            [
                "## Channels",
                "",
                f"[{ASYNCAPI_FILE}]({ASYNCAPI_FILE}): the AsyncAPI 3.0 description of the Kafka "
                "channels (`hub.ingress`, `agency.{agencyId}.inbox`, `agency.{agencyId}.dlq`, "
                "`hub.ingress.dlq`, `hub.audit`).",
            ],
            _versioning_section(),
        ]
    )


def _versioning_section() -> list[str]:
    return [
        "## Versions, compatibility and regeneration",
        "",
        "Every event names its contract in `dataschema`, the `$id` of its JSON Schema, so a "
        "reader always knows the type and version it holds. A new version of a type declares a "
        "compatibility mode towards the previous one, with the rules of Confluent Schema "
        "Registry: BACKWARD (readers of the new version read old events), FORWARD (readers of "
        "the old version read new events), FULL (both) or NONE. The hub casts events between "
        "adjacent versions, so each consumer reads the version it was written for. These files "
        "are generated: change the models in `hub/contracts`, then run "
        "`hub contracts export --out contracts-docs`; `hub contracts check` fails when a change "
        "breaks a declared mode or when this folder is stale.",
    ]
