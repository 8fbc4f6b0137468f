"""The simulated agencies' behaviour, and what the hub should have delivered.

Agencies act on what reaches them: the court answers a referral, the hospital
hears back, a shelter passes a survivor on. Each time an agency submits an
event, the simulator notes who must receive it (or, when her consent does not
cover the recipient, that the sender must be told). Those expectations come
from the demo's own record of her consent, not from the hub.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from hub.adapters.base import AdapterContext
from hub.adapters.fhir import FhirAdapter
from hub.consumers.routing import notice_id
from hub.contracts import (
    CloudEvent,
    ContractRegistry,
    DataCategory,
    Purpose,
    ReferralStatus,
    ServiceCode,
    field_categories,
    new_event,
)
from hub.contracts.envelope import STRUCTURED_CONTENT_TYPE
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentScopeV2,
    ConsentWithdrawnV1,
    ContactPreferences,
    DisclosureCompelledV1,
    EventPayload,
    GrantedBy,
    IdentityAttributes,
    LegalBasis,
    LegalInformation,
    MedicalSummary,
    OutcomeCode,
    OutcomeDomain,
    Priority,
    ReferralOutcomeReportedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
    SafeChannel,
    SafetyRisk,
)
from hub.contracts.vocabulary import service
from hub.demo.agencies import AgencySystem
from hub.demo.case_database import CaseDatabaseApp
from hub.demo.court_registry import CourtRegistry
from hub.demo.stories import Network, Story

__all__ = ["Simulator", "SubmissionError"]

#: What a hospital's system sends as FHIR; the rest goes to ``POST /v1/events``.
_SENT_AS_FHIR = frozenset({"consent.granted", "referral.requested", "consent.withdrawn"})


class SubmissionError(Exception):
    """The hub refused an event the demo expected it to accept."""


@dataclass(frozen=True)
class _Referral:
    referral_id: str
    from_agency: str
    to_agency: str
    service: ServiceCode
    story: Story


@dataclass
class Simulator:
    client: httpx.AsyncClient
    agencies: dict[str, AgencySystem]
    network: Network
    registry: ContractRegistry
    expected: set[tuple[str, str]] = field(default_factory=set)
    submitted: Counter[str] = field(default_factory=Counter)
    sent_payloads: dict[str, EventPayload] = field(default_factory=dict)
    stories: dict[str, Story] = field(default_factory=dict)
    referrals: dict[str, _Referral] = field(default_factory=dict)
    received_under: dict[str, set[str]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    overrides: dict[str, frozenset[DataCategory]] = field(default_factory=dict)
    #: Hospitals submit through the FHIR adapter, in their system's FHIR version.
    fhir_versions: dict[str, str] = field(default_factory=dict)
    pseudonym_key: bytes = b""
    request_ids: dict[str, str] = field(default_factory=dict)
    #: Agencies whose application writes to its own database, which the hub polls.
    case_apps: dict[str, CaseDatabaseApp] = field(default_factory=dict)
    #: Courts whose registry exchanges files with the hub.
    court_registries: dict[str, CourtRegistry] = field(default_factory=dict)

    # -- submitting ---------------------------------------------------------

    async def submit(self, sender: str, payload: EventPayload, consent_id: str) -> CloudEvent:
        if sender in self.case_apps:
            return await self._submit_through_database(sender, payload)
        if sender in self.court_registries:
            return await self._submit_through_files(sender, payload, consent_id)
        event = new_event(payload, source=sender, consent_id=consent_id)
        if sender in self.fhir_versions and event.type in _SENT_AS_FHIR:
            return await self._submit_fhir(sender, event)
        self._expect(event, payload)
        response = await self.client.post(
            "/v1/events",
            content=event.to_json(),
            headers={**self.agencies[sender].auth, "content-type": STRUCTURED_CONTENT_TYPE},
        )
        if response.status_code != 202:
            raise SubmissionError(f"{event.type} from {sender}: {response.status_code}")
        self.submitted[event.type] += 1
        self.sent_payloads[event.id] = payload
        return event

    async def _submit_fhir(self, sender: str, event: CloudEvent) -> CloudEvent:
        """As a hospital's system does: a transaction Bundle to the hub's FHIR endpoint.

        The hub decodes it into canonical events; the hospital's side decodes the
        same Bundle with the same adapter to know which events the hub now holds.
        """
        version = self.fhir_versions[sender]
        adapter = FhirAdapter(
            AdapterContext(self.pseudonym_key, source=sender, registry=self.registry)
        )
        bundle = json.dumps(adapter.encode(event, target_version=version)).encode()
        response = await self.client.post(
            f"/fhir/{version}",
            content=bundle,
            headers={**self.agencies[sender].auth, "content-type": "application/fhir+json"},
        )
        if response.status_code not in (200, 201):
            raise SubmissionError(f"FHIR {event.type} from {sender}: {response.status_code}")
        accepted = adapter.decode(bundle)
        for taken in accepted:
            payload = self.registry.parse(taken)
            self._expect(taken, payload)
            self.submitted[taken.type] += 1
            self.sent_payloads[taken.id] = payload
        return accepted[-1]

    async def _submit_through_database(self, sender: str, payload: EventPayload) -> CloudEvent:
        """As a case worker does: a row in the agency's own table, which the hub takes in."""
        taken = await self.case_apps[sender].record(payload)
        parsed = self.registry.parse(taken)
        self._expect(taken, parsed)
        self.submitted[taken.type] += 1
        self.sent_payloads[taken.id] = parsed
        return taken

    async def _submit_through_files(
        self, sender: str, payload: EventPayload, consent_id: str
    ) -> CloudEvent:
        """As a clerk does: a record in the registry's export, which the hub takes in."""
        taken = await self.court_registries[sender].export(payload, consent_id)
        for event in taken:
            parsed = self.registry.parse(event)
            self._expect(event, parsed)
            self.submitted[event.type] += 1
            self.sent_payloads[event.id] = parsed
        return taken[-1]

    def _expect(self, event: CloudEvent, payload: EventPayload) -> None:
        if isinstance(payload, ConsentGrantedV1):
            return
        if isinstance(payload, DisclosureCompelledV1):
            self.overrides[event.id] = frozenset(payload.categories)
            # The compelled copy of the request is an event of its own.
            copy_id = notice_id(event.id, "disclosed", payload.recipient)
            self.expected.add((payload.recipient, copy_id))
            self.expected.add((payload.recipient, event.id))
            recorder = self.referrals[event.subject].story.hospital
            if recorder != payload.recipient:
                self.expected.add((recorder, event.id))
            return
        if isinstance(payload, ConsentWithdrawnV1):
            story = self.stories[payload.consent_id]
            for recipient in sorted(self.received_under.get(payload.consent_id, set())):
                if recipient != event.source:
                    self.expected.add((recipient, event.id))
            story.withdrawn_at = event.time
            return
        referral = self.referrals[event.subject]
        if isinstance(payload, ReferralRequestedV2):
            recipient = payload.to_agency
        elif event.source == referral.to_agency:
            recipient = referral.from_agency
        else:
            recipient = referral.to_agency
        story = referral.story
        purpose = service(referral.service).purpose
        if story.refers(self.network, referral.from_agency) and story.covers(
            self.network, recipient, purpose
        ):
            self.expected.add((recipient, event.id))
            self.received_under.setdefault(story.consent_id, set()).add(recipient)
        else:
            self.expected.add((event.source, notice_id(event.id, "failed", recipient)))

    # -- stories ------------------------------------------------------------

    async def start(self, story: Story) -> None:
        self.stories[story.consent_id] = story
        now = datetime.now(UTC)
        scope = tuple(
            ConsentScopeV2(
                recipient_kind=kind,
                purposes=tuple(sorted(entry.purposes)),
                categories=tuple(sorted(entry.categories)),
                may_refer_onward=entry.refers_onward,
            )
            for kind, entry in sorted(story.scope.items())
        )
        grant = ConsentGrantedV2(
            consent_id=story.consent_id,
            subject_id=story.subject_id,
            recorded_by=story.hospital,
            granted_by=GrantedBy.SURVIVOR,
            scope=scope,
            valid_from=now - timedelta(minutes=5),
            valid_until=now + timedelta(days=180),
        )
        await self.submit(story.hospital, grant, story.consent_id)
        await self.refer(
            story, story.hospital, self.network.court, ServiceCode.COURT_LISTENING_UNIT
        )
        if story.compelled:
            await self.compel(story, story.referrals[0])
        if story.high_risk:
            await self.refer(
                story, story.hospital, self.network.shelter, ServiceCode.EMERGENCY_SHELTER
            )

    async def refer(self, story: Story, sender: str, recipient: str, code: ServiceCode) -> None:
        referral_id = f"ref-{story.index:05d}-{len(story.referrals) + 1}-{story.consent_id[-12:]}"
        story.referrals.append(referral_id)
        self.referrals[referral_id] = _Referral(referral_id, sender, recipient, code, story)
        payload = ReferralRequestedV3(
            referral_id=referral_id,
            from_agency=sender,
            to_agency=recipient,
            subject_id=story.subject_id,
            service=code,
            priority=Priority.URGENT if story.high_risk else Priority.ROUTINE,
            consent_id=story.consent_id,
            due_by=datetime.now(UTC) + timedelta(hours=72),
            # The example pathways name each hand-off "<from kind>-to-<to kind>".
            pathway_step=f"{self.network.kinds[sender]}-to-{self.network.kinds[recipient]}",
            reason="Referred after a disclosure of intimate partner violence.",
            narrative="Account recorded at the first consultation (simulated).",
            safety_risk=SafetyRisk(level=story.risk, notes="Simulated risk assessment."),
            contact=ContactPreferences(
                do_not_contact=story.high_risk,
                safe_channel=SafeChannel.THROUGH_REFERRING_AGENCY,
                phone="+212 600 000 000",
            ),
            identity=IdentityAttributes(given_name="Demo", family_name=f"Person {story.index}")
            if story.identity_shared
            else None,
            medical=MedicalSummary(summary="Simulated clinical summary.")
            if sender == story.hospital
            else None,
            legal=LegalInformation(complaint_filed=sender != story.hospital),
            incident=story.incident,
        )
        await self.submit(sender, payload, story.consent_id)

    async def compel(self, story: Story, referral_id: str) -> None:
        """The law requires telling the prosecution about a child at risk."""
        payload = DisclosureCompelledV1(
            referral_id=referral_id,
            recipient=self.network.prosecution,
            categories=(DataCategory.SAFETY_RISK, DataCategory.LEGAL),
            legal_basis=LegalBasis.CHILD_AT_RISK,
            legal_reference="Statutory duty to report a child at risk",
            authorising_officer="Head of the emergency unit (simulated)",
            inform_survivor_by=datetime.now(UTC) + timedelta(hours=48),
        )
        await self.submit(story.hospital, payload, story.consent_id)

    async def status(
        self, referral_id: str, sender: str, status: ReferralStatus, reason: str | None = None
    ) -> None:
        payload = ReferralStatusChangedV1(
            referral_id=referral_id,
            status=status,
            status_reason=reason,
            note="Simulated note for the referring agency.",
        )
        await self.submit(sender, payload, self.referrals[referral_id].story.consent_id)

    async def outcome(
        self, referral_id: str, sender: str, domain: OutcomeDomain, outcome: OutcomeCode
    ) -> None:
        now = datetime.now(UTC)
        payload = ReferralOutcomeReportedV1(
            referral_id=referral_id,
            domain=domain,
            outcome=outcome,
            occurred_at=now,
            case_number="DEMO-" + referral_id[-8:] if domain is OutcomeDomain.JUSTICE else None,
            note="Simulated outcome detail.",
        )
        await self.submit(sender, payload, self.referrals[referral_id].story.consent_id)

    # -- reacting -----------------------------------------------------------

    async def on_event(self, agency: AgencySystem, event: CloudEvent) -> None:
        """Called when an agency's system records a new event; reacts in the background."""
        task = asyncio.create_task(self._react(agency, event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _react(self, agency: AgencySystem, event: CloudEvent) -> None:
        try:
            await self._dispatch(agency, event)
        except (SubmissionError, httpx.HTTPError) as exc:
            self.errors.append(f"{agency.agency_id} reacting to {event.type}: {exc}")

    async def _dispatch(self, agency: AgencySystem, event: CloudEvent) -> None:
        network = self.network
        if event.type == "consent.withdrawn":
            await self._continue_after_withdrawal(agency, event)
            return
        referral = self.referrals.get(event.subject)
        if referral is None:
            return
        if event.type == "referral.requested" and agency.agency_id == referral.to_agency:
            handlers = {
                network.court: self._court,
                network.prosecution: self._prosecution,
                network.shelter: self._shelter,
                network.psychosocial: self._psychosocial,
                network.social: self._social,
            }
            handler = handlers.get(agency.agency_id)
            if handler is not None:
                await handler(referral)
        elif (
            event.type == "referral.status-changed"
            and agency.agency_id == referral.story.hospital
            and referral.to_agency == network.court
            and event.data.get("status") == ReferralStatus.ACCEPTED.value
            and referral.story.withdraws
        ):
            story = referral.story
            withdrawal = ConsentWithdrawnV1(
                consent_id=story.consent_id,
                subject_id=story.subject_id,
                recorded_by=story.hospital,
                withdrawn_at=datetime.now(UTC),
                reason="Withdrawn at her request.",
            )
            await self.submit(story.hospital, withdrawal, story.consent_id)

    async def _continue_after_withdrawal(self, agency: AgencySystem, event: CloudEvent) -> None:
        """The court's system carries on as if nothing happened; the hub must stop it."""
        story = self.stories.get(str(event.data.get("consent_id")))
        if story is None or agency.agency_id != self.network.court:
            return
        for referral_id in story.referrals:
            if self.referrals[referral_id].to_agency == agency.agency_id:
                await self.status(referral_id, agency.agency_id, ReferralStatus.IN_PROGRESS)

    async def _court(self, referral: _Referral) -> None:
        story, court = referral.story, self.network.court
        if not story.court_accepts:
            await self.status(
                referral.referral_id, court, ReferralStatus.REJECTED, "outside jurisdiction"
            )
            return
        await self.status(referral.referral_id, court, ReferralStatus.ACCEPTED)
        if story.withdraws:
            return
        await self.status(referral.referral_id, court, ReferralStatus.IN_PROGRESS)
        await self.outcome(
            referral.referral_id, court, OutcomeDomain.JUSTICE, OutcomeCode.COMPLAINT_FILED
        )
        if story.covers(self.network, self.network.prosecution, Purpose.JUSTICE):
            await self.refer(
                story, court, self.network.prosecution, ServiceCode.PROSECUTION_COMPLAINT
            )
        await self.status(referral.referral_id, court, ReferralStatus.COMPLETED)

    async def _prosecution(self, referral: _Referral) -> None:
        agency = self.network.prosecution
        await self.status(referral.referral_id, agency, ReferralStatus.ACCEPTED)
        await self.outcome(
            referral.referral_id, agency, OutcomeDomain.JUSTICE, OutcomeCode.CASE_OPENED
        )
        await self.outcome(
            referral.referral_id, agency, OutcomeDomain.JUSTICE, OutcomeCode.HEARING_SCHEDULED
        )
        await self.status(referral.referral_id, agency, ReferralStatus.COMPLETED)

    async def _shelter(self, referral: _Referral) -> None:
        story, shelter = referral.story, self.network.shelter
        if not story.shelter_accepts:
            await self.status(referral.referral_id, shelter, ReferralStatus.REJECTED, "no capacity")
            return
        await self.status(referral.referral_id, shelter, ReferralStatus.ACCEPTED)
        await self.status(referral.referral_id, shelter, ReferralStatus.IN_PROGRESS)
        await self.outcome(
            referral.referral_id, shelter, OutcomeDomain.SOCIAL, OutcomeCode.SHELTER_PROVIDED
        )
        await self.refer(
            story, shelter, self.network.psychosocial, ServiceCode.PSYCHOSOCIAL_SUPPORT
        )
        await self.refer(story, shelter, self.network.social, ServiceCode.SOCIAL_ECONOMIC_SUPPORT)
        await self.status(referral.referral_id, shelter, ReferralStatus.COMPLETED)

    async def _psychosocial(self, referral: _Referral) -> None:
        agency = self.network.psychosocial
        await self.status(referral.referral_id, agency, ReferralStatus.ACCEPTED)
        await self.outcome(
            referral.referral_id, agency, OutcomeDomain.SOCIAL, OutcomeCode.COUNSELLING_STARTED
        )
        await self.status(referral.referral_id, agency, ReferralStatus.COMPLETED)

    async def _social(self, referral: _Referral) -> None:
        agency = self.network.social
        await self.status(referral.referral_id, agency, ReferralStatus.ACCEPTED)
        story = referral.story
        if story.index % 3 == 0:
            # A case worker refers her on, in the agency's own case database.
            await self.refer(
                story, agency, self.network.psychosocial, ServiceCode.PSYCHOSOCIAL_SUPPORT
            )
        await self.outcome(
            referral.referral_id,
            agency,
            OutcomeDomain.SOCIAL,
            OutcomeCode.FINANCIAL_SUPPORT_GRANTED,
        )
        await self.status(referral.referral_id, agency, ReferralStatus.COMPLETED)

    # -- checking -----------------------------------------------------------

    def leaks(self) -> int:
        """Fields or events an agency received that her consent did not allow."""
        found = 0
        for agency in self.agencies.values():
            for event in agency.received.values():
                found += self._leaks_in(agency.agency_id, event)
        return found

    def _leaks_in(self, agency_id: str, event: CloudEvent) -> int:
        if not event.type.startswith("referral.") or event.consentid is None:
            return 0
        story = self.stories.get(event.consentid)
        if story is None:
            return 0
        override = event.extensions.get("overrideid")
        if isinstance(override, str):
            # A compelled disclosure: lawful without consent, but only what the law named.
            granted = self.overrides.get(override, frozenset())
        elif story.withdrawn_at is not None and event.time > story.withdrawn_at:
            return 1
        else:
            granted = story.granted(self.network, agency_id)
        model = self.registry.contract_of(event).model
        return sum(
            1
            for name, category in field_categories(model).items()
            if category is not None and name in event.data and category not in granted
        )

    def fields_withheld(self) -> int:
        """Categorised fields the senders included that recipients did not get."""
        withheld = 0
        for agency in self.agencies.values():
            for event in agency.received.values():
                sent = self.sent_payloads.get(event.id)
                if sent is None or event.source == agency.agency_id or agency.speaks_fhir:
                    continue
                for name, category in field_categories(type(sent)).items():
                    included = getattr(sent, name) is not None
                    if category is not None and included and name not in event.data:
                        withheld += 1
        return withheld

    def consent_blocked(self) -> int:
        """Notices the senders received of deliveries her consent did not allow."""
        return sum(
            1
            for agency in self.agencies.values()
            for event in agency.received.values()
            if event.type == "delivery.failed"
            and str(event.data.get("reason", "")).startswith("consent-")
        )
