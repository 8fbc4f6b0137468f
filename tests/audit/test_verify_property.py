"""Property: over random logs across several chains, an untouched log verifies and any
single mutation of what a checkpoint covers is detected, whether checkpoints are deltas (as
the recorder writes them) or full snapshots of every head."""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit import HUB_CHAIN, AuditAction, Signer, checkpoint_hash, verify_log
from hub.audit.chain import next_entry
from hub.audit.checkpoints import make_checkpoint, newest_heads
from hub.store import AuditCheckpointRow, AuditEntryRow
from tests.audit.helpers import T0

SIGNER = Signer.from_seed("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
INTRUDER_SEED = "HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE="
INTRUDER = Signer.from_seed(INTRUDER_SEED)


class Impostor(Signer):
    """The intruder's key, claiming to be ours by key id."""

    def __init__(self) -> None:
        super().__init__(Ed25519PrivateKey.from_private_bytes(base64.b64decode(INTRUDER_SEED)))
        self.key_id = SIGNER.key_id


REFERRALS = ("r1", "r2", "r3", "r4")
ACTIONS = (AuditAction.ACCEPTED, AuditAction.ROUTED, AuditAction.DELIVERED, AuditAction.BLOCKED)


@dataclass
class Log:
    entries: list[AuditEntryRow]
    checkpoints: list[AuditCheckpointRow]

    def covered(self) -> list[AuditEntryRow]:
        """Entries at or before the newest head any checkpoint recorded for their chain."""
        heads = newest_heads(self.checkpoints)
        return [e for e in self.entries if e.chain_id in heads and e.seq <= heads[e.chain_id][0]]


# One step: an entry on one of the referrals (by index), or a checkpoint (None).
steps = st.lists(
    st.one_of(st.tuples(st.integers(0, len(REFERRALS) - 1), st.sampled_from(ACTIONS)), st.none()),
    min_size=1,
    max_size=30,
)


def build(
    plan: list[tuple[int, AuditAction] | None],
    signer: Signer = SIGNER,
    actor: str = "hub",
    *,
    full: bool = False,
) -> Log:
    """The log the plan describes, as the recorder would write it, ending with a checkpoint.

    Checkpoints name the chains that advanced since the one before, or with
    ``full`` every chain's head.
    """
    entries: list[AuditEntryRow] = []
    heads: dict[str, AuditEntryRow] = {}
    checkpoints: list[AuditCheckpointRow] = []
    advanced: set[str] = set()

    def append(
        chain: str, action: AuditAction, referral: str | None, details: dict[str, object]
    ) -> None:
        row = next_entry(
            heads.get(chain),
            chain_id=chain,
            entry_id=f"e{len(entries)}",
            action=action,
            actor=actor,
            at=T0 + timedelta(seconds=len(entries)),
            event_id=f"ev{len(entries)}",
            referral_id=referral,
            details=details,
        )
        heads[chain] = row
        entries.append(row)
        advanced.add(chain)

    def checkpoint() -> None:
        named = heads if full else {chain: heads[chain] for chain in advanced}
        advanced.clear()
        row = make_checkpoint(
            seq=len(checkpoints) + 1,
            at=T0 + timedelta(seconds=len(entries)),
            heads={chain: (row.seq, row.hash) for chain, row in named.items()},
            previous=checkpoints[-1] if checkpoints else None,
            signer=signer,
        )
        checkpoints.append(row)
        append(
            HUB_CHAIN,
            AuditAction.CHECKPOINT,
            None,
            {"checkpoint": row.seq, "hash": checkpoint_hash(row), "key_id": row.key_id},
        )

    for step in plan:
        if step is None:
            checkpoint()
        else:
            referral = REFERRALS[step[0]]
            append(f"referral:{referral}", step[1], referral, {"recipient": "court-b"})
    checkpoint()
    return Log(entries, checkpoints)


def _without(rows: list[AuditEntryRow], *gone: AuditEntryRow) -> list[AuditEntryRow]:
    return [row for row in rows if row not in gone]


def mutate(
    log: Log, plan: list[tuple[int, AuditAction] | None], data: st.DataObject, *, full: bool
) -> Log:
    """The log with exactly one thing changed that the last checkpoint covers.

    "rewrite" is the strongest forger: one who rewrites every entry and every
    checkpoint consistently, lacking only the signing key.
    """
    covered = log.covered()
    per_chain = Counter(e.chain_id for e in covered)
    swappable = sorted(chain for chain, count in per_chain.items() if count > 1)
    kinds = ["heads", "re-sign", "drop-checkpoint", "rewrite", "impersonate"]
    if covered:
        kinds += ["edit", "prev-hash", "delete", "truncate", "drop-chain"]
    if swappable:
        kinds.append("swap")
    kind = data.draw(st.sampled_from(kinds))
    entries, checkpoints = list(log.entries), list(log.checkpoints)
    if kind == "rewrite":
        return build(plan, INTRUDER, actor="forger", full=full)
    if kind == "impersonate":
        return build(plan, Impostor(), actor="forger", full=full)
    if kind in {"edit", "prev-hash", "delete", "truncate", "drop-chain"}:
        target = data.draw(st.sampled_from(covered))
        if kind == "edit":
            field = data.draw(st.sampled_from(["actor", "action", "at", "event_id", "details"]))
            changed = {
                "actor": replace(target, actor=target.actor + "-x"),
                "action": replace(
                    target, action="override" if target.action != "override" else "routed"
                ),
                "at": replace(target, at=target.at + timedelta(microseconds=1)),
                "event_id": replace(target, event_id=(target.event_id or "") + "-x"),
                "details": replace(target, details={**target.details, "extra": 1}),
            }[field]
            entries[entries.index(target)] = changed
        elif kind == "prev-hash":
            entries[entries.index(target)] = replace(target, prev_hash="1" * 64)
        elif kind == "delete":
            entries = _without(entries, target)
        elif kind == "truncate":
            entries = [
                e for e in entries if not (e.chain_id == target.chain_id and e.seq >= target.seq)
            ]
        else:
            entries = [e for e in entries if e.chain_id != target.chain_id]
    elif kind == "swap":
        chain = data.draw(st.sampled_from(swappable))
        pair = data.draw(
            st.lists(
                st.sampled_from([e for e in covered if e.chain_id == chain]),
                min_size=2,
                max_size=2,
                unique_by=lambda e: e.seq,
            )
        )
        first, second = pair
        entries[entries.index(first)] = replace(first, seq=second.seq)
        entries[entries.index(second)] = replace(second, seq=first.seq)
    elif kind == "heads":
        index = data.draw(st.sampled_from([i for i, c in enumerate(checkpoints) if c.heads]))
        chosen = checkpoints[index]
        chain = data.draw(st.sampled_from(sorted(chosen.heads)))
        seq, digest = chosen.heads[chain]
        forged = data.draw(st.sampled_from([(seq, "f" * 64), (seq + 1, digest), (seq - 1, digest)]))
        checkpoints[index] = replace(chosen, heads={**chosen.heads, chain: forged})
    elif kind == "re-sign":
        index = data.draw(st.integers(0, len(checkpoints) - 1))
        chosen = checkpoints[index]
        previous = checkpoints[index - 1] if index else None
        checkpoints[index] = make_checkpoint(
            seq=chosen.seq, at=chosen.at, heads=chosen.heads, previous=previous, signer=INTRUDER
        )
    else:
        index = data.draw(st.integers(0, len(checkpoints) - 1))
        del checkpoints[index]
    return Log(entries, checkpoints)


@given(steps, st.booleans())
@settings(max_examples=150, deadline=None)
def test_untouched_log_verifies(plan: list[tuple[int, AuditAction] | None], full: bool) -> None:
    """Any log written as the recorder writes it verifies, with and without the key."""
    log = build(plan, full=full)
    assert verify_log(log.entries, log.checkpoints, SIGNER.public_key).problems == []
    assert verify_log(log.entries, log.checkpoints).ok


@given(steps, st.booleans(), st.data())
@settings(max_examples=400, deadline=None)
def test_any_single_mutation_is_detected(
    plan: list[tuple[int, AuditAction] | None], full: bool, data: st.DataObject
) -> None:
    """Editing, deleting, reordering, truncating or forging anything checkpointed is caught."""
    log = build(plan, full=full)
    mutated = mutate(log, plan, data, full=full)
    report = verify_log(mutated.entries, mutated.checkpoints, SIGNER.public_key)
    assert not report.ok
    for problem in report.problems:
        assert problem.chain_id is not None or problem.checkpoint is not None
