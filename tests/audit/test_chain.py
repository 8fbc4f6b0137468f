"""Appending to hash chains: the hash rule, chain choice, transactions and concurrency."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, event

from hub.audit import AuditAction, AuditRecorder, EntryDraft, Signer, entry_hash, verify
from hub.store import Store
from hub.store import audit as audit_store
from tests.audit.helpers import at


def test_first_entry_starts_from_zeros_and_hash_follows_the_rule(
    store: Store, recorder: AuditRecorder
) -> None:
    """hash = sha256 of the canonical JSON array of every other field; prev of seq 1 = 64 zeros."""
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
    # Written out by hand, as an auditor with another JSON library would: an
    # array in fixed order, at in microseconds since the epoch, details sorted.
    canonical = (
        '["audit-entry/2","referral:r1",1,"' + first.entry_id + '",1772355600123456,'
        '"accepted","hospital-a","ev-1","r1","c1",'
        '{"categories":["contact","medical"],"type":"referral.requested"},"' + "0" * 64 + '"]'
    )
    assert first.hash == hashlib.sha256(canonical.encode()).hexdigest()
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


# -- record_many ------------------------------------------------------------------


_T = TypeVar("_T")


class _RolledBack(Exception):
    """Raised to leave a transaction without keeping what it wrote."""


def _numbered_ids() -> Callable[[], str]:
    """Entry ids e0, e1, ... so two runs of the same drafts make the same entries."""
    return (f"e{n}" for n in itertools.count()).__next__


def _recorder(entry_ids: Callable[[], str], checkpoint_every: int = 10**9) -> AuditRecorder:
    return AuditRecorder(signer=None, checkpoint_every=checkpoint_every, entry_ids=entry_ids)


def _one_by_one(recorder: AuditRecorder, conn: Connection, drafts: list[EntryDraft]) -> list[Any]:
    return [
        recorder.record(
            conn,
            action=d.action,
            actor=d.actor,
            at=d.at,
            event_id=d.event_id,
            referral_id=d.referral_id,
            consent_id=d.consent_id,
            details=d.details,
        )
        for d in drafts
    ]


def _rolled_back(store: Store, work: Callable[[Connection], _T]) -> _T:
    """What ``work`` returns in a transaction that is then rolled back."""
    done: list[_T] = []
    try:
        with store.transaction() as conn:
            done.append(work(conn))
            raise _RolledBack
    except _RolledBack:
        pass
    return done[0]


def _statements(conn: Connection) -> list[str]:
    """The SQL sent on ``conn`` from now on, one item per round trip."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(args[2])

    event.listen(conn, "before_cursor_execute", note)
    return sent


# Interleaved chains: two referrals, a consent, the hub; some chains already exist.
BATCH = [
    EntryDraft(AuditAction.ACCEPTED, "hospital-a", at(1), "ev-1", "r1", "c1", {"type": "x"}),
    EntryDraft(AuditAction.ROUTED, "hub", at(2), "ev-1", "r2", "c1", {"recipient": "court-b"}),
    EntryDraft(AuditAction.CONSENT_GRANTED, "hospital-a", at(3), consent_id="c9"),
    EntryDraft(AuditAction.DELIVERED, "hub", at(4), "ev-1", "r1", "c1"),
    EntryDraft(AuditAction.AGENCY_ADDED, "operator", at(5), details={"agency": "shelter-c"}),
    EntryDraft(AuditAction.ACKNOWLEDGED, "court-b", at(6), "ev-1", "r1", None, {"n": 3}),
    EntryDraft(AuditAction.DELIVERED, "hub", at(7), "ev-2", "r2", "c1"),
]


def _existing_chains(store: Store) -> None:
    with store.transaction() as conn:
        _one_by_one(
            AuditRecorder(signer=None, checkpoint_every=10**9),
            conn,
            [
                EntryDraft(AuditAction.ACCEPTED, "hospital-a", at(0), "ev-0", "r1"),
                EntryDraft(AuditAction.AGENCY_ADDED, "operator", at(0)),
            ],
        )


def test_record_many_makes_the_entries_record_makes_one_by_one(store: Store) -> None:
    """A batch over new and existing, interleaved chains equals recording each draft in turn."""
    _existing_chains(store)
    expected = _rolled_back(
        store, lambda conn: _one_by_one(_recorder(_numbered_ids()), conn, BATCH)
    )
    with store.transaction() as conn:
        batch = _recorder(_numbered_ids()).record_many(conn, BATCH)
    assert batch == expected
    assert [(row.chain_id, row.seq) for row in batch] == [
        ("referral:r1", 2),
        ("referral:r2", 1),
        ("consent:c9", 1),
        ("referral:r1", 3),
        ("hub", 2),
        ("referral:r1", 4),
        ("referral:r2", 2),
    ]
    with store.transaction() as conn:
        assert audit_store.entries(conn, chain_id="referral:r1")[1:] == [
            batch[0],
            batch[3],
            batch[5],
        ]
        assert verify(conn).ok


def test_record_many_sends_a_few_statements_whatever_the_batch_size(store: Store) -> None:
    """One lock per chain (PostgreSQL only), one query for the heads, one insert."""
    _existing_chains(store)
    chains = {f"referral:r{n}" for n in range(40)}
    drafts = [
        EntryDraft(AuditAction.ROUTED, "hub", at(n), referral_id=f"r{n % 40}") for n in range(200)
    ]
    with store.transaction() as conn:
        sent = _statements(conn)
        rows = _recorder(_numbered_ids()).record_many(conn, drafts)
    locks = [sql for sql in sent if "advisory" in sql]
    assert len(locks) == (len(chains) if store.dialect_name == "postgresql" else 0)
    assert len(sent) - len(locks) == 2, sent
    assert {row.chain_id for row in rows} == chains
    assert [row.seq for row in rows if row.chain_id == "referral:r1"] == [2, 3, 4, 5, 6]


def test_record_many_of_nothing_sends_nothing(store: Store) -> None:
    """An empty batch returns no entries and does not touch the database."""
    with store.transaction() as conn:
        sent = _statements(conn)
        assert _recorder(_numbered_ids(), checkpoint_every=1).record_many(conn, []) == []
    assert sent == []


def test_record_many_refuses_an_unfit_draft_before_storing_anything(store: Store) -> None:
    """The first unfit draft raises what record() would; no entry of the batch is stored."""
    recorder = _recorder(_numbered_ids())
    unfit = [*BATCH[:2], replace(BATCH[2], details={"narrative": "x" * 201}), BATCH[3]]
    with store.transaction() as conn:
        with pytest.raises(ValueError, match="at most 200") as from_batch:
            recorder.record_many(conn, unfit)
        with pytest.raises(ValueError, match="at most 200") as from_record:
            recorder.record(
                conn, action=unfit[2].action, actor="x", at=at(0), details=unfit[2].details
            )
        assert str(from_batch.value) == str(from_record.value)
        naive = replace(BATCH[0], at=datetime(2026, 3, 1, 9))
        with pytest.raises(ValueError, match="naive"):
            recorder.record_many(conn, [BATCH[1], naive])
        assert audit_store.count_entries(conn) == 0


def test_record_many_checkpoints_at_most_once_per_batch(store: Store, signer: Signer) -> None:
    """A batch past checkpoint_every writes one checkpoint, dated by the batch's newest entry."""
    recorder = AuditRecorder(signer=signer, checkpoint_every=3)
    with store.transaction() as conn:
        recorder.record_many(conn, BATCH)
        stored = audit_store.checkpoints(conn)
        assert len(stored) == 1
        assert stored[0].at == max(draft.at for draft in BATCH)
        assert set(stored[0].heads) == {"referral:r1", "referral:r2", "consent:c9", "hub"}
        assert verify(conn, signer.public_key).ok


def test_concurrent_record_many_never_forks_or_deadlocks(store: Store) -> None:
    """Batches sharing chains, listed in opposite orders, from two threads make unbroken chains."""
    recorder = AuditRecorder(signer=None, checkpoint_every=25)
    referrals = [f"r{n}" for n in range(6)]
    rounds = 30

    def work(worker: int) -> None:
        order = referrals if worker % 2 == 0 else referrals[::-1]
        for n in range(rounds):
            drafts = [
                EntryDraft(AuditAction.DELIVERED, f"worker-{worker}", at(n), referral_id=r)
                for r in order
            ]
            with store.transaction() as conn:
                recorder.record_many(conn, drafts)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(work, range(2)))
    with store.transaction() as conn:
        for referral in referrals:
            rows = audit_store.entries(conn, chain_id=f"referral:{referral}")
            assert [row.seq for row in rows] == list(range(1, 2 * rounds + 1))
        report = verify(conn)
    assert report.ok, report.problems
    assert report.checkpoints > 0
