"""Survivor stories: who she sees, what she consents to, how each agency answers.

Every choice is drawn from a seeded random generator, so a run is repeatable.
Consents are deliberately partial: agencies of some kinds are left out, and
each named kind gets only some data categories.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime

from hub.contracts import AgencyKind, DataCategory, Purpose
from hub.contracts.events import (
    AgeBand,
    FirstContact,
    IncidentClassification,
    Perpetrator,
    RiskLevel,
    TechnologyFacilitation,
    ViolenceType,
)

__all__ = ["Network", "ScopeEntry", "Story", "plan_stories"]

_C = DataCategory


@dataclass(frozen=True)
class ScopeEntry:
    purposes: frozenset[Purpose]
    categories: frozenset[DataCategory]
    #: The agencies of this kind may refer her onward under her consent.
    refers_onward: bool = False


@dataclass(frozen=True)
class Network:
    """The agency playing each role in the demo."""

    hospitals: tuple[str, ...]
    court: str
    prosecution: str
    shelter: str
    psychosocial: str
    social: str
    kinds: dict[str, AgencyKind]


@dataclass
class Story:
    index: int
    subject_id: str
    consent_id: str
    hospital: str
    scope: dict[AgencyKind, ScopeEntry]
    risk: RiskLevel
    court_accepts: bool
    shelter_accepts: bool
    withdraws: bool
    identity_shared: bool
    compelled: bool = False
    #: The incident as the hospital classified it; it travels with every referral.
    incident: IncidentClassification | None = None
    withdrawn_at: datetime | None = None
    referrals: list[str] = field(default_factory=list)

    @property
    def high_risk(self) -> bool:
        return self.risk in (RiskLevel.HIGH, RiskLevel.SEVERE)

    def covers(self, network: Network, recipient: str, purpose: Purpose) -> bool:
        """Her consent, as the demo recorded it, lets ``recipient`` receive for ``purpose``."""
        if self.withdrawn_at is not None:
            return False
        if recipient == self.hospital:
            return True
        entry = self.scope.get(network.kinds[recipient])
        return entry is not None and purpose in entry.purposes

    def refers(self, network: Network, referrer: str) -> bool:
        """Her consent lets ``referrer`` refer her: it recorded it, or she named it to."""
        if referrer == self.hospital:
            return True
        entry = self.scope.get(network.kinds[referrer])
        return entry is not None and entry.refers_onward

    def granted(self, network: Network, recipient: str) -> frozenset[DataCategory]:
        if recipient == self.hospital:
            return frozenset(DataCategory)
        entry = self.scope.get(network.kinds[recipient])
        return entry.categories if entry is not None else frozenset()

    def planned_referrals(self, network: Network) -> int:
        count = 1  # hospital to court listening unit
        court_continues = self.court_accepts and not self.withdraws
        if court_continues and self.covers(network, network.prosecution, Purpose.JUSTICE):
            count += 1
        if self.high_risk:
            count += 1
            if self.covers(network, network.shelter, Purpose.PROTECTION) and self.shelter_accepts:
                count += 2  # psychosocial support and social services
        return count


def plan_stories(network: Network, referrals: int, seed: int) -> list[Story]:
    """Stories whose referrals add up to exactly ``referrals``."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not secrecy
    stories: list[Story] = []
    total = 0
    while total < referrals:
        story = _draw(rng, network, len(stories), seed)
        remaining = referrals - total
        while story.planned_referrals(network) > remaining:
            _trim(story)
        stories.append(story)
        total += story.planned_referrals(network)
    return stories


def _trim(story: Story) -> None:
    if story.shelter_accepts and story.high_risk:
        story.shelter_accepts = False
    elif story.high_risk:
        story.risk = RiskLevel.MEDIUM
    else:
        story.court_accepts = False


def _draw(rng: random.Random, network: Network, index: int, seed: int) -> Story:
    digest = hashlib.sha256(f"demo-{seed}-{index}".encode()).hexdigest()
    scope = {
        # The court refers her on to the prosecution, and the shelter to psychosocial
        # support and social services: she lets both refer her onward.
        AgencyKind.COURT: ScopeEntry(
            frozenset({Purpose.JUSTICE}),
            _some(rng, (_C.CONTACT, _C.NARRATIVE, _C.SAFETY_RISK, _C.MEDICAL, _C.EVIDENCE)),
            refers_onward=True,
        ),
    }
    if rng.random() < 0.8:
        scope[AgencyKind.PROSECUTION] = ScopeEntry(
            frozenset({Purpose.JUSTICE}),
            _some(rng, (_C.NARRATIVE, _C.LEGAL, _C.EVIDENCE, _C.MEDICAL)),
        )
    if rng.random() < 0.8:
        scope[AgencyKind.SHELTER] = ScopeEntry(
            frozenset({Purpose.PROTECTION, Purpose.CARE, Purpose.SOCIAL_SUPPORT}),
            _some(rng, (_C.CONTACT, _C.SAFETY_RISK, _C.IDENTITY)),
            refers_onward=True,
        )
    if rng.random() < 0.75:
        scope[AgencyKind.PSYCHOSOCIAL] = ScopeEntry(
            frozenset({Purpose.CARE}), _some(rng, (_C.CONTACT, _C.NARRATIVE))
        )
    if rng.random() < 0.7:
        # Social services may refer her on to psychosocial support, from their own database.
        scope[AgencyKind.SOCIAL_SERVICES] = ScopeEntry(
            frozenset({Purpose.SOCIAL_SUPPORT}),
            _some(rng, (_C.CONTACT, _C.IDENTITY)),
            refers_onward=True,
        )
    withdraws = index % 17 == 5
    story = Story(
        index=index,
        subject_id=f"sub_{digest[:32]}",
        consent_id=f"cns-demo-{seed}-{index:05d}",
        hospital=rng.choice(network.hospitals),
        scope=scope,
        risk=rng.choice(
            (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.HIGH, RiskLevel.SEVERE)
        ),
        court_accepts=rng.random() < 0.9,
        shelter_accepts=rng.random() < 0.8,
        withdraws=withdraws,
        identity_shared=rng.random() < 0.3,
    )
    _classify(story, digest)
    if index % 13 == 9 and not withdraws:
        # A child is at risk and she has not agreed to involve the prosecution:
        # the hospital must disclose all the same.
        story.scope.pop(AgencyKind.PROSECUTION, None)
        story.compelled = True
    if withdraws:
        # She withdraws once the court has accepted: a story without the shelter
        # branch, so what is still in flight at that moment is known exactly.
        story.risk = RiskLevel.MEDIUM
        story.court_accepts = True
    return story


def _some(rng: random.Random, categories: tuple[DataCategory, ...]) -> frozenset[DataCategory]:
    """At least one, rarely all: consents in the field are seldom all-or-nothing."""
    chosen = {category for category in categories if rng.random() < 0.6}
    return frozenset(chosen or {rng.choice(categories)})


def _classify(story: Story, digest: str) -> None:
    """The incident and whether she lets it be counted, from a generator of their own.

    A generator seeded by the story keeps every other draw as it was. About a
    third of the incidents are technology-facilitated; most consents allow
    statistics.
    """
    rng = random.Random(digest)  # noqa: S311 - a simulation, not secrecy
    violence = rng.choice(
        (
            ViolenceType.PHYSICAL_ASSAULT,
            ViolenceType.PHYSICAL_ASSAULT,
            ViolenceType.PSYCHOLOGICAL_ABUSE,
            ViolenceType.PSYCHOLOGICAL_ABUSE,
            ViolenceType.SEXUAL_ASSAULT,
            ViolenceType.RAPE,
            ViolenceType.DENIAL_OF_RESOURCES,
            ViolenceType.FORCED_MARRIAGE,
        )
    )
    online = rng.random() < 0.35
    story.incident = IncidentClassification(
        violence=(violence,),
        technology_facilitated=(rng.choice(tuple(TechnologyFacilitation)),) if online else (),
        perpetrator=rng.choice(tuple(Perpetrator)),
        age_band=rng.choice(
            (AgeBand.ADOLESCENT, AgeBand.YOUNG_ADULT, AgeBand.ADULT, AgeBand.MIDDLE_AGED)
        ),
        first_contact=FirstContact.HOSPITAL,
    )
    if rng.random() < 0.85:
        story.scope[AgencyKind.OBSERVER] = ScopeEntry(
            frozenset({Purpose.STATISTICS}), frozenset({_C.INCIDENT})
        )
