"""``hub adapters decode court`` and ``encode court``, with the directory of ``--config``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.contracts import new_event
from hub.contracts.examples import EXAMPLES
from tests.adapters.court.samples import COURT, REFERRAL_XML, REGISTRY_SYSTEM, SHELTER
from tests.adapters.test_cli_adapters import assert_one_line_error, invoke
from tests.support import token_hash

CONFIG = f"""
[[agencies]]
id = "{COURT}"
name = "Court listening unit"
kind = "court"
region = "casablanca-settat"
token_sha256 = "{token_hash("a")}"
aliases = ["TPI-CASA-UE"]

[[agencies]]
id = "{SHELTER}"
name = "Shelter"
kind = "shelter"
region = "casablanca-settat"
token_sha256 = "{token_hash("b")}"
aliases = ["FOYER-DAA"]

[[code_maps]]
system = "{REGISTRY_SYSTEM}"
code = "HEB-URG"
service = "emergency-shelter"

[[code_maps]]
system = "{REGISTRY_SYSTEM}"
code = "PRIS-EN-CHARGE"
status = "accepted"

[[code_maps]]
system = "{REGISTRY_SYSTEM}"
code = "ORD-PROT-ACC"
outcome = "protection-order-granted"
"""


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PSEUDONYM_KEY", "cli-test-key-long-enough")


def test_decode_resolves_names_through_the_configuration(tmp_path: Path) -> None:
    """A registry file using court codes and its own code system decodes with --config."""
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    export = tmp_path / "export.xml"
    export.write_bytes(REFERRAL_XML)

    result = invoke("decode", "court", str(export), "--config", str(config))

    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert [e["type"] for e in events] == [
        "referral.requested",
        "referral.status-changed",
        "referral.outcome-reported",
    ]
    assert events[0]["data"]["to_agency"] == SHELTER


def test_decode_without_the_directory_names_the_unknown_sender(tmp_path: Path) -> None:
    """Without a configuration naming the court, the error says which name is unknown."""
    export = tmp_path / "export.xml"
    export.write_bytes(REFERRAL_XML)

    result = invoke("decode", "court", str(export))

    assert_one_line_error(result, "/court-records/@sender", "TPI-CASA-UE")


def test_encode_writes_a_court_record(tmp_path: Path) -> None:
    """An event file becomes a court-records document naming the sender by its court code."""
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    event = new_event(EXAMPLES[("referral.status-changed", 1)], source=COURT)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event.structured()))

    result = invoke("encode", "court", str(path), "--config", str(config))

    assert result.exit_code == 0, result.output
    assert 'sender="TPI-CASA-UE"' in result.stdout
    assert "<status-change " in result.stdout
