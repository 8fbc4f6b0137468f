"""Court records as a registry writes them, and the directory the tests resolve names through."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.adapters import AdapterContext
from hub.adapters.court import CourtAdapter
from hub.adapters.directory import Directory
from hub.config import AgencyConfig
from hub.config.code_maps import CodeMapEntry
from hub.contracts import AgencyKind, ServiceCode, default_registry
from hub.services.intake import accept_event
from hub.store import Store
from tests.support import consent_event, consent_payload, referral_event, scope, token_hash

COURT = "tpi-casablanca-listening-unit"
SHELTER = "dar-al-amane-shelter"
HOSPITAL = "chu-ibn-rochd"
REGISTRY_SYSTEM = "urn:ma:justice:registry-codes"
KEY = b"court-test-key"


def _agency(agency_id: str, kind: AgencyKind, *aliases: str) -> AgencyConfig:
    return AgencyConfig(
        id=agency_id,
        name=agency_id,
        kind=kind,
        region="casablanca-settat",
        token_sha256=token_hash(agency_id),
        aliases=aliases,
    )


DIRECTORY = Directory(
    [
        _agency(COURT, AgencyKind.COURT, "TPI-CASA-UE", "Organization/tpi-casa"),
        _agency(SHELTER, AgencyKind.SHELTER, "FOYER-DAA"),
        _agency(HOSPITAL, AgencyKind.HOSPITAL, "Organization/chu-ibn-rochd"),
    ],
    [
        CodeMapEntry(system=REGISTRY_SYSTEM, code="HEB-URG", service=ServiceCode.EMERGENCY_SHELTER),
        CodeMapEntry(
            system=REGISTRY_SYSTEM, code="ORD-PROT-ACC", outcome="protection-order-granted"
        ),
        CodeMapEntry(system=REGISTRY_SYSTEM, code="PRIS-EN-CHARGE", status="accepted"),
    ],
)


def court_adapter(source: str | None = COURT, **options: str) -> CourtAdapter:
    return CourtAdapter(AdapterContext(KEY, source=source, options=options, directory=DIRECTORY))


REFERRAL_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<court-records xmlns="urn:referral-hub:court-records:v1" sender="TPI-CASA-UE">
  <referral record-id="UE-2026-0412" recorded-at="2026-12-01T09:15:00+01:00">
    <referral-id>UE-REF-0412</referral-id>
    <to>FOYER-DAA</to>
    <subject-ref>PARTIE-88812</subject-ref>
    <service system="{REGISTRY_SYSTEM}">HEB-URG</service>
    <priority>urgent</priority>
    <consent-ref>cns-0412</consent-ref>
    <reason>Needs a safe place while the complaint is processed.</reason>
    <risk-level>high</risk-level>
    <case-number>2026/UE/412</case-number>
    <complaint-filed>true</complaint-filed>
  </referral>
  <status-change record-id="UE-2026-0413" recorded-at="2026-12-01T09:20:00+01:00">
    <referral-id>HOSP-REF-77</referral-id>
    <status system="{REGISTRY_SYSTEM}">PRIS-EN-CHARGE</status>
  </status-change>
  <outcome record-id="UE-2026-0414" recorded-at="2026-12-01T11:00:00+01:00">
    <referral-id>HOSP-REF-77</referral-id>
    <outcome system="{REGISTRY_SYSTEM}">ORD-PROT-ACC</outcome>
    <occurred-at>2026-12-01T10:45:00+01:00</occurred-at>
    <case-number>2026/UE/77</case-number>
  </outcome>
</court-records>
""".encode()

REFERRAL_CSV = (
    "kind,record-id,recorded-at,referral-id,to,subject-ref,service,service-system,priority,"
    "consent-ref,status\r\n"
    "referral,R-1,2026-12-01T09:15:00+01:00,REF-1,FOYER-DAA,PARTIE-1,HEB-URG,"
    f"{REGISTRY_SYSTEM},routine,cns-1,\r\n"
    "status-change,R-2,2026-12-01T09:16:00+01:00,REF-9,,,,,,,accepted\r\n"
).encode()


def refer_to_court(store: Store, *referral_ids: str) -> None:
    """Hospital referrals to the court, accepted, so the court's records may move them."""
    consent = consent_payload(HOSPITAL, [scope(AgencyKind.COURT)])
    events = [consent_event(consent)]
    events += [
        referral_event(HOSPITAL, COURT, consent, referral_id=referral_id)
        for referral_id in referral_ids
    ]
    for event in events:
        accept_event(store, default_registry(), event, sender=HOSPITAL, now=datetime.now(UTC))
