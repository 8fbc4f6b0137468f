"""The demo's network: the example region's agencies, with tokens made for this run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.adapters.social_db.example import example_mapping
from hub.api.auth import hash_token
from hub.config import HubSettings, load_settings
from hub.contracts import AgencyKind
from hub.demo.court_registry import CourtFolders

__all__ = ["COURT_POLL_S", "DEFAULT_NETWORK", "DemoNetwork", "build_network"]

DEFAULT_NETWORK = Path("examples/casablanca-settat.toml")

#: Agencies that receive by webhook in the demo; hospitals speak FHIR; the others pull.
_WEBHOOK_AGENCIES = ("dar-al-amane-shelter",)
#: Agencies whose case-management application the hub reaches through its own database.
_DATABASE_AGENCIES = ("entraide-nationale-casablanca",)
#: Court registries exchange files with the hub: the listening unit XML, the prosecution CSV.
_COURT_FILE_FORMATS = {AgencyKind.COURT: "xml", AgencyKind.PROSECUTION: "csv"}
#: How often the hub looks at a court's folders (the registries look as often).
COURT_POLL_S = 0.2
#: The FHIR version of each hospital's system; one runs R5, the others R4.
_R5_HOSPITALS = ("chp-hassan-ii-settat",)


@dataclass(frozen=True)
class DemoNetwork:
    settings: HubSettings
    tokens: dict[str, str]
    webhook_secrets: dict[str, str]
    fhir_versions: dict[str, str]
    #: Agency id -> (database URL, the environment variable the hub reads it from).
    agency_databases: dict[str, tuple[str, str]]
    #: Court agency id -> the folders its registry and the hub exchange files in.
    court_folders: dict[str, CourtFolders]


def build_network(
    config: Path,
    *,
    database_url: str,
    webhook_base_url: str,
    agency_db_folder: Path,
    **overrides: Any,
) -> DemoNetwork:
    """Settings from the example file, with fresh tokens, local endpoints and databases."""
    base = load_settings(config)
    tokens = {agency.id: secrets.token_urlsafe(24) for agency in base.agencies}
    webhook_secrets: dict[str, str] = {}
    fhir_versions: dict[str, str] = {}
    agency_databases: dict[str, tuple[str, str]] = {}
    court_folders: dict[str, CourtFolders] = {}
    agencies = []
    for agency in base.agencies:
        entry = agency.model_dump(mode="python")
        entry["token_sha256"] = hash_token(tokens[agency.id])
        if agency.id in _WEBHOOK_AGENCIES:
            webhook_secrets[agency.id] = secrets.token_urlsafe(24)
            entry["delivery"] = {
                "mode": "webhook",
                "url": f"{webhook_base_url}/hooks/{agency.id}",
                "secret": webhook_secrets[agency.id],
            }
        elif agency.id in _DATABASE_AGENCIES:
            url_env = "HUB_DEMO_" + agency.id.upper().replace("-", "_") + "_DB_URL"
            url = f"sqlite:///{agency_db_folder / agency.id}.db"
            agency_databases[agency.id] = (url, url_env)
            entry["delivery"] = example_mapping(url_env).model_dump(mode="python")
        elif agency.kind in _COURT_FILE_FORMATS:
            share = agency_db_folder / "court-shares" / agency.id
            folders = CourtFolders(
                share / "outgoing", share / "incoming", _COURT_FILE_FORMATS[agency.kind]
            )
            court_folders[agency.id] = folders
            entry["delivery"] = {
                "mode": "court-files",
                "format": folders.format,
                "outgoing": str(folders.outgoing),
                "incoming": str(folders.incoming),
                "poll_interval_s": COURT_POLL_S,
            }
        elif agency.kind is AgencyKind.HOSPITAL:
            fhir_versions[agency.id] = "r5" if agency.id in _R5_HOSPITALS else "r4"
            entry["delivery"] = {
                "mode": "fhir",
                "base_url": f"{webhook_base_url}/fhir/{agency.id}",
                "fhir_version": fhir_versions[agency.id],
            }
        else:
            entry["delivery"] = {"mode": "pull"}
        agencies.append(entry)
    # A key of this run's own: the example file holds none, and the built-in one is public.
    overrides.setdefault("pseudonym_key", secrets.token_urlsafe(32))
    settings = load_settings(
        config,
        agencies=agencies,
        database_url=database_url,
        http_port=0,
        **overrides,
    )
    return DemoNetwork(
        settings=settings,
        tokens=tokens,
        webhook_secrets=webhook_secrets,
        fhir_versions=fhir_versions,
        agency_databases=agency_databases,
        court_folders=court_folders,
    )
