"""Verifying the stored log: an untouched log passes, each kind of tampering is named."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete, insert, text, update

from hub.audit import (
    AuditAction,
    AuditRecorder,
    Problem,
    Signer,
    VerifyReport,
    generate_seed,
    verify,
)
from hub.audit.chain import next_entry
from hub.audit.checkpoints import make_checkpoint
from hub.store import AuditEntryRow, Store
from hub.store import audit as audit_store
from hub.store.schema import audit_checkpoints, audit_entries
from tests.audit.helpers import T0, at, populate


def _run(store: Store, signer: Signer | None) -> VerifyReport:
    with store.transaction() as conn:
        return verify(conn, signer.public_key if signer is not None else None)


def _sql(store: Store, statement: str, **params: Any) -> None:
    with store.transaction() as conn:
        conn.execute(text(statement), params)


def _entry(store: Store, chain_id: str, seq: int) -> AuditEntryRow:
    with store.transaction() as conn:
        return next(r for r in audit_store.entries(conn, chain_id=chain_id) if r.seq == seq)


def _codes(report: VerifyReport) -> set[str]:
    return {problem.code for problem in report.problems}


def _only(report: VerifyReport, code: str) -> Problem:
    found = [problem for problem in report.problems if problem.code == code]
    assert found, report.problems
    return found[0]


def test_untouched_log_verifies(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """A log nobody altered verifies, with its counts and the checkpoint's signature checked."""
    populate(store, recorder)
    report = _run(store, signer)
    assert report.problems == []
    assert (report.entries, report.chains, report.checkpoints) == (9, 5, 1)
    assert (report.signed_checkpoints, report.key_id) == (1, signer.key_id)


def test_entries_after_the_last_checkpoint_verify(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Chains that grew past the heads a checkpoint recorded are not a problem."""
    populate(store, recorder)
    with store.transaction() as conn:
        recorder.record(
            conn, action=AuditAction.DELIVERED, actor="hub", at=at(20), referral_id="r1"
        )
        recorder.record(conn, action=AuditAction.ACCEPTED, actor="a", at=at(21), referral_id="r9")
    assert _run(store, signer).ok


def test_edited_field_is_named(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """Changing a stored field is reported as a hash mismatch naming chain, seq and entry."""
    populate(store, recorder)
    target = _entry(store, "referral:r1", 2)
    _sql(
        store,
        "UPDATE audit_entries SET actor = 'someone-else' WHERE chain_id = :c AND seq = 2",
        c="referral:r1",
    )
    problem = _only(_run(store, signer), "entry-altered")
    assert (problem.chain_id, problem.seq, problem.entry_id) == ("referral:r1", 2, target.entry_id)
    assert "referral:r1" in str(problem)
    assert target.entry_id in str(problem)


def test_edit_with_recomputed_hash_breaks_the_next_link(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Recomputing the edited entry's own hash moves the break to the next entry's link."""
    populate(store, recorder)
    edited = replace(_entry(store, "referral:r1", 1), actor="someone-else")
    forged = next_entry(
        None,
        chain_id=edited.chain_id,
        entry_id=edited.entry_id,
        action=AuditAction(edited.action),
        actor=edited.actor,
        at=edited.at,
        event_id=edited.event_id,
        referral_id=edited.referral_id,
        consent_id=edited.consent_id,
        details=edited.details,
    )
    _sql(
        store,
        "UPDATE audit_entries SET actor = :a, hash = :h WHERE chain_id = :c AND seq = 1",
        a=forged.actor,
        h=forged.hash,
        c="referral:r1",
    )
    report = _run(store, signer)
    assert "entry-altered" not in _codes(report)
    problem = _only(report, "link-broken")
    assert (problem.chain_id, problem.seq) == ("referral:r1", 2)


def test_deleted_entry_is_named(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """Deleting an entry from the middle of a chain is reported as a seq gap."""
    populate(store, recorder)
    following = _entry(store, "referral:r1", 3)
    _sql(store, "DELETE FROM audit_entries WHERE chain_id = 'referral:r1' AND seq = 2")
    problem = _only(_run(store, signer), "entry-missing")
    assert (problem.chain_id, problem.seq, problem.entry_id) == (
        "referral:r1",
        3,
        following.entry_id,
    )
    assert "seq 2 missing" in problem.message


def test_reordered_entries_are_named(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """Swapping the seqs of two entries breaks their hashes and links."""
    populate(store, recorder)
    for old, new in ((1, -1), (2, 1), (-1, 2)):
        _sql(
            store,
            "UPDATE audit_entries SET seq = :new WHERE chain_id = 'referral:r1' AND seq = :old",
            old=old,
            new=new,
        )
    report = _run(store, signer)
    assert {"entry-altered", "link-broken"} <= _codes(report)
    assert {p.chain_id for p in report.problems} == {"referral:r1"}


def test_truncated_tail_is_named(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """Removing a chain's last entries is caught against the checkpoint's head."""
    checkpoint = populate(store, recorder)
    _sql(store, "DELETE FROM audit_entries WHERE chain_id = 'referral:r1' AND seq = 3")
    report = _run(store, signer)
    problem = _only(report, "chain-truncated")
    assert (problem.chain_id, problem.seq, problem.checkpoint) == ("referral:r1", 3, checkpoint.seq)
    assert _codes(report) == {"chain-truncated"}


def test_deleted_chain_is_named(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """Deleting every entry of a chain is caught: the checkpoint still names it."""
    populate(store, recorder)
    _sql(store, "DELETE FROM audit_entries WHERE chain_id = 'referral:r2'")
    report = _run(store, signer)
    assert _only(report, "chain-missing").chain_id == "referral:r2"
    assert _codes(report) == {"chain-missing"}


def test_forged_checkpoint_heads_are_named(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """A checkpoint whose heads were changed fails its signature and disagrees with the chain."""
    checkpoint = populate(store, recorder)
    heads = {chain: [seq, digest] for chain, (seq, digest) in checkpoint.heads.items()}
    heads["referral:r2"] = [2, "f" * 64]
    with store.transaction() as conn:
        conn.execute(
            update(audit_checkpoints)
            .where(audit_checkpoints.c.seq == checkpoint.seq)
            .values(heads=heads)
        )
    report = _run(store, signer)
    assert _only(report, "checkpoint-signature").checkpoint == checkpoint.seq
    mismatch = _only(report, "head-mismatch")
    assert (mismatch.chain_id, mismatch.seq) == ("referral:r2", 2)
    # Without the key the forged heads are still caught against the chain.
    assert "head-mismatch" in _codes(_run(store, None))


def test_checkpoint_resigned_with_another_key_is_named(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """A checkpoint rewritten and signed with someone else's key is refused."""
    checkpoint = populate(store, recorder)
    intruder = Signer.from_seed(generate_seed())
    heads = dict(checkpoint.heads)
    heads.pop("referral:r3")
    forged = make_checkpoint(
        seq=checkpoint.seq, at=checkpoint.at, heads=heads, previous=None, signer=intruder
    )
    for key_id in (forged.key_id, signer.key_id):  # under its own id, then claiming ours
        with store.transaction() as conn:
            conn.execute(
                update(audit_checkpoints)
                .where(audit_checkpoints.c.seq == checkpoint.seq)
                .values(
                    heads={c: list(h) for c, h in forged.heads.items()},
                    signature=forged.signature,
                    key_id=key_id,
                )
            )
        codes = _codes(_run(store, signer))
        assert codes & {"checkpoint-key", "checkpoint-signature"}
        assert "checkpoint-mismatch" in codes  # the hub chain recorded the real one


def test_unsigned_latest_checkpoint_is_refused_with_a_key(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Stripping the latest checkpoint's signature does not pass when a key is given."""
    checkpoint = populate(store, recorder)
    with store.transaction() as conn:
        conn.execute(
            update(audit_checkpoints)
            .where(audit_checkpoints.c.seq == checkpoint.seq)
            .values(signature="", key_id="")
        )
    assert _only(_run(store, signer), "checkpoint-unsigned").checkpoint == checkpoint.seq


def test_deleted_latest_checkpoint_is_named(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Removing the latest checkpoint is caught by the hub chain entry that recorded it."""
    checkpoint = populate(store, recorder)
    with store.transaction() as conn:
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq == checkpoint.seq))
    problem = _only(_run(store, signer), "checkpoint-missing")
    assert (problem.chain_id, problem.seq) == ("hub", 2)


def test_deleted_middle_checkpoint_breaks_the_checkpoint_link(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Removing a checkpoint from the middle breaks the link of the one after it."""
    populate(store, recorder)
    with store.transaction() as conn:
        second = recorder.checkpoint(conn, at(30))
        third = recorder.checkpoint(conn, at(31))
    with store.transaction() as conn:
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq == second.seq))
    report = _run(store, signer)
    assert _only(report, "checkpoint-link").checkpoint == third.seq


def test_unsigned_log_verifies_chains_only(store: Store) -> None:
    """Without a configured key checkpoints are unsigned, and chains still verify."""
    recorder = AuditRecorder(signer=None, checkpoint_every=10**9)
    checkpoint = populate(store, recorder)
    assert (checkpoint.signature, checkpoint.key_id) == ("", "")
    report = _run(store, None)
    assert report.ok
    assert (report.signed_checkpoints, report.key_id) == (0, None)
    _sql(store, "DELETE FROM audit_entries WHERE chain_id = 'referral:r2'")
    assert "chain-missing" in _codes(_run(store, None))


def test_unreadable_row_is_a_problem_not_a_crash(
    sqlite_store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """A row altered into something the store cannot read back is named by its chain."""
    populate(sqlite_store, recorder)
    _sql(
        sqlite_store, "UPDATE audit_entries SET details = '{broken' WHERE chain_id = 'referral:r3'"
    )
    report = _run(sqlite_store, signer)
    assert _only(report, "unreadable").chain_id == "referral:r3"


def test_100k_entries_verify_in_reasonable_time(sqlite_store: Store, signer: Signer) -> None:
    """A log of 100k entries over 5k chains verifies in seconds, not minutes."""
    rows: list[dict[str, Any]] = []
    heads: dict[str, AuditEntryRow] = {}
    for n in range(100_000):
        chain = f"referral:r{n % 5_000}"
        row = next_entry(
            heads.get(chain),
            chain_id=chain,
            entry_id=f"e{n}",
            action=AuditAction.ROUTED,
            actor="hub",
            at=T0,
            referral_id=chain.removeprefix("referral:"),
            details={"recipient": "court-b", "disclosed": ["contact"]},
        )
        heads[chain] = row
        rows.append({name: getattr(row, name) for name in AuditEntryRow.__dataclass_fields__})
    with sqlite_store.transaction() as conn:
        conn.execute(insert(audit_entries), rows)
        AuditRecorder(signer=signer).checkpoint(conn, at(1))
    started = time.monotonic()
    seen: list[int] = []
    with sqlite_store.transaction() as conn:
        report = verify(conn, signer.public_key, progress=seen.append)
    elapsed = time.monotonic() - started
    assert report.ok, report.problems[:3]
    assert report.entries == 100_001
    assert seen[:2] == [10_000, 20_000]
    assert elapsed < 60, f"verify took {elapsed:.1f} s"


@pytest.mark.parametrize("every", [1, 3])
def test_recorder_checkpoints_every_n_entries(store: Store, signer: Signer, every: int) -> None:
    """The recorder writes a signed checkpoint every ``checkpoint_every`` entries it records."""
    recorder = AuditRecorder(signer=signer, checkpoint_every=every)
    with store.transaction() as conn:
        for n in range(6):
            recorder.record(conn, action=AuditAction.ACCEPTED, actor="a", at=at(n), referral_id="r")
    with store.transaction() as conn:
        stored = audit_store.checkpoints(conn)
    assert len(stored) == 6 // every
    assert all(c.key_id == signer.key_id for c in stored)
    assert _run(store, signer).ok


# -- delta checkpoints -------------------------------------------------------------


def _later_checkpoints(store: Store, recorder: AuditRecorder, count: int) -> list[int]:
    """``count`` more checkpoints, each after new entries on other chains than populate's."""
    seqs = []
    for n in range(count):
        with store.transaction() as conn:
            recorder.record(
                conn, action=AuditAction.ROUTED, actor="hub", at=at(20 + n), referral_id=f"new{n}"
            )
            seqs.append(recorder.checkpoint(conn, at(20 + n)).seq)
    return seqs


def test_later_checkpoints_record_only_what_advanced(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Checkpoints after the first name only the chains that advanced, and the log verifies."""
    first = populate(store, recorder)
    _later_checkpoints(store, recorder, 3)
    with store.transaction() as conn:
        later = audit_store.checkpoints(conn)[1:]
    assert [sorted(c.heads) for c in later] == [
        ["hub", "referral:new0"],
        ["hub", "referral:new1"],
        ["hub", "referral:new2"],
    ]
    assert "referral:r2" in first.heads
    assert _run(store, signer).ok


def test_idle_chain_truncated_is_named_against_the_checkpoint_that_last_named_it(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """A chain no checkpoint named for several checkpoints is still held to its last head."""
    first = populate(store, recorder)
    _later_checkpoints(store, recorder, 3)
    _sql(store, "DELETE FROM audit_entries WHERE chain_id = 'referral:r1' AND seq = 3")
    report = _run(store, signer)
    problem = _only(report, "chain-truncated")
    assert (problem.chain_id, problem.seq, problem.checkpoint) == ("referral:r1", 3, first.seq)
    assert _codes(report) == {"chain-truncated"}


def test_idle_chain_deleted_is_named(store: Store, recorder: AuditRecorder, signer: Signer) -> None:
    """Deleting a chain that stopped advancing checkpoints ago is caught."""
    first = populate(store, recorder)
    _later_checkpoints(store, recorder, 3)
    _sql(store, "DELETE FROM audit_entries WHERE chain_id = 'consent:c9'")
    report = _run(store, signer)
    problem = _only(report, "chain-missing")
    assert (problem.chain_id, problem.checkpoint) == ("consent:c9", first.seq)
    assert _codes(report) == {"chain-missing"}


def test_idle_chain_rewritten_is_named(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """An idle chain rewritten with consistent hashes differs from its last recorded head."""
    first = populate(store, recorder)
    _later_checkpoints(store, recorder, 2)
    original = _entry(store, "referral:r3", 1)
    forged = next_entry(
        None,
        chain_id=original.chain_id,
        entry_id=original.entry_id,
        action=AuditAction(original.action),
        actor="someone-else",
        at=original.at,
        event_id=original.event_id,
        referral_id=original.referral_id,
        consent_id=original.consent_id,
        details=original.details,
    )
    _sql(
        store,
        "UPDATE audit_entries SET actor = :a, hash = :h WHERE chain_id = 'referral:r3'",
        a=forged.actor,
        h=forged.hash,
    )
    problem = _only(_run(store, signer), "head-mismatch")
    assert (problem.chain_id, problem.seq, problem.checkpoint) == ("referral:r3", 1, first.seq)


def test_removed_middle_delta_checkpoint_is_named(
    store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Removing the only checkpoint that named a chain breaks the checkpoint link."""
    populate(store, recorder)
    second, third = _later_checkpoints(store, recorder, 2)
    with store.transaction() as conn:
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq == second))
    assert _only(_run(store, signer), "checkpoint-link").checkpoint == third


def test_unreadable_rows_in_several_chains_spare_the_others(
    sqlite_store: Store, recorder: AuditRecorder, signer: Signer
) -> None:
    """Each chain holding an unreadable row is named; every other chain is still verified."""
    populate(sqlite_store, recorder)
    _sql(
        sqlite_store,
        "UPDATE audit_entries SET details = '{broken' "
        "WHERE chain_id IN ('consent:c9', 'referral:r2') AND seq = 1",
    )
    report = _run(sqlite_store, signer)
    assert [p.chain_id for p in report.problems] == ["consent:c9", "referral:r2"]
    assert {p.code for p in report.problems} == {"unreadable"}
    assert (report.chains, report.entries) == (5, 9 - 1 - 2)
