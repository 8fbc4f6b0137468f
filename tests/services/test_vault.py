"""Stored payloads are sealed under the survivor's key, and erasure makes them unreadable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.audit import AuditRecorder, SubjectErased, erase_subject, verify
from hub.contracts import default_registry, new_event
from hub.contracts.events import ConsentGrantedV1, ReferralRequestedV2, ReferralStatusChangedV1
from hub.contracts.status import ReferralStatus
from hub.services.intake import accept_event
from hub.services.vault import seal, seal_many, subject_for, unseal
from hub.store import Store, outbox

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def _consent_and_referral() -> tuple[ConsentGrantedV1, ReferralRequestedV2]:
    registry = default_registry()
    grant = registry.get("consent.granted", 1).example
    request = registry.get("referral.requested", 2).example
    assert isinstance(grant, ConsentGrantedV1)
    assert isinstance(request, ReferralRequestedV2)
    window = {"valid_from": NOW - timedelta(days=1), "valid_until": NOW + timedelta(days=30)}
    return grant.model_copy(update=window), request


def test_sealed_payload_hides_every_value_and_opens_again(store: Store) -> None:
    """The stored form carries no payload value in clear; unsealing gives the event back."""
    _, request = _consent_and_referral()
    event = new_event(request, source="chu-ibn-rochd")
    with store.transaction() as conn:
        sealed = seal(conn, event, NOW)
        opened = unseal(conn, sealed)
    stored_text = json.dumps(sealed)
    assert "Salma" not in stored_text
    assert "Contusions" not in stored_text
    assert sealed["id"] == event.id
    assert sealed["subject"] == event.subject
    assert opened == event.structured()


def test_later_events_of_a_referral_are_sealed_under_her_key(store: Store) -> None:
    """A status change, which names no subject, is sealed under the referral's subject."""
    grant, request = _consent_and_referral()
    registry = default_registry()
    for payload in (grant, request):
        accept_event(
            store,
            registry,
            new_event(payload, source="chu-ibn-rochd"),
            sender="chu-ibn-rochd",
            now=NOW,
        )
    status = new_event(
        ReferralStatusChangedV1(referral_id=request.referral_id, status=ReferralStatus.ACCEPTED),
        source="tpi-casablanca-listening-unit",
    )
    with store.transaction() as conn:
        assert subject_for(conn, status) == request.subject_id


def test_erasure_makes_stored_payloads_unreadable_and_keeps_the_proof(store: Store) -> None:
    """After erasure the accepted events cannot be read, new ones are refused, verify passes."""
    grant, request = _consent_and_referral()
    registry = default_registry()
    recorder = AuditRecorder(signer=None)
    accepted = []
    for payload in (grant, request):
        event = new_event(payload, source="chu-ibn-rochd")
        accept_event(store, registry, event, sender="chu-ibn-rochd", now=NOW, audit=recorder)
        accepted.append(event)
    subject = request.subject_id
    with store.transaction() as conn:
        assert erase_subject(conn, recorder, subject, "operator", NOW)
    with store.transaction() as conn:
        for event in accepted:
            row = outbox.get(conn, event.source, event.id)
            assert row is not None
            assert unseal(conn, row.envelope) is None
        report = verify(conn)
    assert not report.problems
    again = new_event(request, source="chu-ibn-rochd")
    with pytest.raises(SubjectErased):
        accept_event(store, registry, again, sender="chu-ibn-rochd", now=NOW)


def test_a_batch_is_sealed_per_subject_and_skips_only_the_erased(store: Store) -> None:
    """Sealing many at once: each under its own subject's key; an erased subject's gets None."""
    _, request = _consent_and_referral()
    hers = new_event(request, source="chu-ibn-rochd")
    other = new_event(
        request.model_copy(update={"referral_id": "ref-other", "subject_id": "subj-other"}),
        source="chu-ibn-rochd",
    )
    unlinked = new_event(
        ReferralStatusChangedV1(referral_id="ref-never-seen", status=ReferralStatus.ACCEPTED),
        source="tpi-casablanca-listening-unit",
    )
    with store.transaction() as conn:
        erase_subject(conn, AuditRecorder(signer=None), request.subject_id, "ops", NOW)
    with store.transaction() as conn:
        sealed = seal_many(conn, [hers, other, unlinked, other], NOW)
        assert sealed[0] is None
        assert [envelope["data"]["subject"] for envelope in sealed[1:] if envelope] == [
            "subj-other",
            "unlinked:ref-never-seen",
            "subj-other",
        ]
        assert unseal(conn, sealed[1] or {}) == other.structured()
        with pytest.raises(SubjectErased):
            seal(conn, hers, NOW)
