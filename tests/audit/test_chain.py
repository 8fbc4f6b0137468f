"""Appending to hash chains: the hash rule, chain choice, transactions and concurrency."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from hub.audit import AuditAction, AuditRecorder, Signer, entry_hash, verify
from hub.store import Store
from hub.store import audit as audit_store
from tests.audit.helpers import at


def test_first_entry_starts_from_zeros_and_hash_follows_the_rule(
    store: Store, recorder: AuditRecorder
) -> None:
    """hash = sha256(prev_hash + canonical JSON of every other field), prev of seq 1 = 64 zeros."""
    with store.transaction() as conn:
        first = recorder.record(
            conn,
            action=AuditAction.ACCEPTED,
            actor="hospital-a",
            at=at(0),
            event_id="ev-1",
            referral_id="r1",
            consent_id="c1",
            details={"type": "referral.requested", "categories": ["contact", "medical"]},
        )
        second = recorder.record(
            conn, action=AuditAction.ROUTED, actor="hub", at=at(1), referral_id="r1"
        )
    assert (first.chain_id, first.seq, first.prev_hash) == ("referral:r1", 1, "0" * 64)
    canonical = json.dumps(
        {
            "action": "accepted",
            "actor": "hospital-a",
            "at": "2026-03-01T09:00:00.123456+00:00",
            "chain_id": "referral:r1",
            "consent_id": "c1",
            "details": {"categories": ["contact", "medical"], "type": "referral.requested"},
            "entry_id": first.entry_id,
            "event_id": "ev-1",
            "prev_hash": "0" * 64,
            "referral_id": "r1",
            "seq": 1,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert first.hash == hashlib.sha256(("0" * 64 + canonical).encode()).hexdigest()
    assert (second.seq, second.prev_hash) == (2, first.hash)
    with store.transaction() as conn:
        stored = audit_store.entries(conn, chain_id="referral:r1")
    assert stored == [first, second]
    assert all(entry_hash(row) == row.hash for row in stored)


def test_chain_per_referral_consent_and_hub(store: Store, recorder: AuditRecorder) -> None:
    """An entry goes to its referral's chain, else its consent's, else the hub's."""
    with store.transaction() as conn:
        chains = [
            recorder.record(conn, action=a, actor="x", at=at(0), referral_id=r, consent_id=c)
            for a, r, c in (
                (AuditAction.ROUTED, "r1", "c1"),
                (AuditAction.CONSENT_GRANTED, None, "c1"),
                (AuditAction.AGENCY_ADDED, None, None),
            )
        ]
    assert [row.chain_id for row in chains] == ["referral:r1", "consent:c1", "hub"]
    assert [row.seq for row in chains] == [1, 1, 1]


def test_entry_commits_and_rolls_back_with_the_callers_transaction(
    store: Store, recorder: AuditRecorder
) -> None:
    """An entry recorded in a transaction that fails is gone with the rest of it."""

    def change_that_fails() -> None:
        with store.transaction() as conn:
            recorder.record(
                conn, action=AuditAction.ROUTED, actor="hub", at=at(0), referral_id="r1"
            )
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with store.transaction() as conn:
        assert audit_store.count_entries(conn) == 0


@pytest.mark.parametrize(
    ("details", "fragment"),
    [
        ({"narrative": "x" * 201}, "at most 200"),
        ({"patient": {"name": "A"}}, "nested objects"),
        ({"scores": [1.5]}, "float"),
        ({"items": [["a"]]}, "list is not allowed"),
        ({"n": 2**60}, "out of range"),
    ],
)
def test_unfit_details_are_refused(
    store: Store, recorder: AuditRecorder, details: dict[str, object], fragment: str
) -> None:
    """Details that could carry survivor data are refused and nothing is stored."""
    with store.transaction() as conn:
        with pytest.raises(ValueError, match=fragment):
            recorder.record(conn, action=AuditAction.ROUTED, actor="hub", at=at(0), details=details)
        assert audit_store.count_entries(conn) == 0


def test_naive_time_and_unknown_action_are_refused(store: Store, recorder: AuditRecorder) -> None:
    """A naive timestamp or an action outside AuditAction raises ValueError."""
    with store.transaction() as conn:
        with pytest.raises(ValueError, match="naive"):
            recorder.record(
                conn, action=AuditAction.ROUTED, actor="hub", at=datetime(2026, 3, 1, 9)
            )
        with pytest.raises(ValueError, match="viewed"):
            recorder.record(conn, action="viewed", actor="hub", at=at(0))  # type: ignore[arg-type]
        assert audit_store.count_entries(conn) == 0


def test_concurrent_recording_on_one_chain_never_forks(
    store: Store, recorder: AuditRecorder
) -> None:
    """Threads appending to one chain at once produce one unbroken chain."""
    threads, per_thread = 8, 15

    def work(worker: int) -> None:
        for n in range(per_thread):
            with store.transaction() as conn:
                recorder.record(
                    conn,
                    action=AuditAction.DELIVERED,
                    actor=f"worker-{worker}",
                    at=at(n),
                    referral_id="shared",
                )

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    with store.transaction() as conn:
        rows = audit_store.entries(conn, chain_id="referral:shared")
        report = verify(conn)
    assert [row.seq for row in rows] == list(range(1, threads * per_thread + 1))
    assert report.ok, report.problems


def test_writers_on_different_chains_do_not_wait_for_each_other(
    store: Store, recorder: AuditRecorder
) -> None:
    """On PostgreSQL an open transaction holding one chain does not block another chain."""
    if store.dialect_name != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    holding, release = threading.Event(), threading.Event()

    def hold_chain_a() -> None:
        with store.transaction() as conn:
            recorder.record(conn, action=AuditAction.ROUTED, actor="a", at=at(0), referral_id="a")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_chain_a)
    holder.start()
    try:
        assert holding.wait(10)
        done = threading.Event()

        def write_chain_b() -> None:
            with store.transaction() as conn:
                recorder.record(
                    conn, action=AuditAction.ROUTED, actor="b", at=at(0), referral_id="b"
                )
            done.set()

        writer = threading.Thread(target=write_chain_b)
        writer.start()
        assert done.wait(5), "chain b waited for chain a's transaction"
        writer.join()
    finally:
        release.set()
        holder.join()


def test_due_checkpoint_never_waits_for_a_busy_hub_chain(store: Store, signer: Signer) -> None:
    """On PostgreSQL a checkpoint due while the hub chain is busy is postponed, not awaited."""
    if store.dialect_name != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    recorder = AuditRecorder(signer=signer, checkpoint_every=1)
    holding, release = threading.Event(), threading.Event()

    def hold_hub_chain() -> None:
        with store.transaction() as conn:
            recorder.record(conn, action=AuditAction.AGENCY_ADDED, actor="op", at=at(0))
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_hub_chain)
    holder.start()
    try:
        assert holding.wait(10)
        with store.transaction() as conn:
            recorder.record(conn, action=AuditAction.ROUTED, actor="hub", at=at(1), referral_id="r")
            assert audit_store.checkpoints(conn) == []
    finally:
        release.set()
        holder.join()
    with store.transaction() as conn:
        recorder.record(conn, action=AuditAction.ROUTED, actor="hub", at=at(2), referral_id="r")
    with store.transaction() as conn:
        assert len(audit_store.checkpoints(conn)) == 2  # the holder's own, then the postponed one
        assert verify(conn, signer.public_key).ok
