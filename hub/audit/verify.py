"""Checking the audit log: every chain recomputed, every checkpoint checked.

What each kind of tampering looks like to the verifier:

- an edited entry no longer hashes to its stored ``hash`` (``entry-altered``);
  one whose hash was recomputed breaks the next entry's link instead, and one
  whose whole tail was recomputed no longer matches a checkpoint's head;
- a deleted entry leaves a gap in ``seq`` (``entry-missing``);
- reordered or inserted entries break ``prev_hash`` links (``link-broken``)
  and, since ``seq`` is hashed, their own hashes;
- a truncated chain ends before the head a checkpoint recorded
  (``chain-truncated``), and a deleted chain is named by a checkpoint but
  gone (``chain-missing``);
- a forged or altered checkpoint fails its signature, names heads the chains
  do not have (``head-mismatch``), or breaks the link of the checkpoint after
  it (``checkpoint-link``); a removed latest checkpoint is still named by the
  hub chain's ``checkpoint`` entry (``checkpoint-missing``).

Entries after the latest checkpoint are protected by their links only: until
the next checkpoint, someone who can write to the database can rewrite or cut
that tail unnoticed. Checkpoints often, and on shutdown, keep that window small.

Work is linear: chains are read one at a time, and each checkpoint's heads are
folded into one map keyed by ``(chain, seq)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from hub.audit._canonical import GENESIS_HASH
from hub.audit.chain import entry_hash
from hub.audit.checkpoints import checkpoint_hash, checkpoint_payload
from hub.audit.entries import HUB_CHAIN, AuditAction, chain_id_for
from hub.audit.signing import key_id_of, signature_valid
from hub.store import AuditCheckpointRow, AuditEntryRow
from hub.store import audit as audit_store

__all__ = ["Problem", "Progress", "VerifyReport", "verify", "verify_log"]

#: Called with the number of entries checked so far, every ``progress_every`` entries.
Progress: TypeAlias = Callable[[int], None]

# What a row the database cannot hand back intact raises while being read:
# JSON that does not parse, a timestamp or number that is not one.
_UNREADABLE = (ValueError, TypeError, KeyError)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the log: where (chain, seq, entry, checkpoint) and what."""

    code: str
    message: str
    chain_id: str | None = None
    seq: int | None = None
    entry_id: str | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        where = [
            f"{label} {value}"
            for label, value in (
                ("chain", self.chain_id),
                ("seq", self.seq),
                ("entry", self.entry_id),
                ("checkpoint", self.checkpoint),
            )
            if value is not None
        ]
        return f"{' '.join(where) or 'log'}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class VerifyReport:
    """What was checked and what is wrong; ``key_id`` None means signatures were not checked."""

    entries: int
    chains: int
    checkpoints: int
    signed_checkpoints: int
    key_id: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Head:
    digest: str
    checkpoint: int


class _Verifier:
    def __init__(
        self, public_key: Ed25519PublicKey | None, progress: Progress | None, every: int
    ) -> None:
        self._key = public_key
        self._key_id = key_id_of(public_key) if public_key is not None else None
        self._progress = progress
        self._every = every
        self._problems: list[Problem] = []
        # (chain, seq) -> the hash checkpoints recorded for it, and the first that did.
        self._expected: dict[tuple[str, int], _Head] = {}
        # chain -> the highest head any checkpoint recorded for it.
        self._named: dict[str, tuple[int, int]] = {}
        self._checkpoint_hashes: dict[int, str] = {}
        self._checkpoint_entries: list[AuditEntryRow] = []
        self._last_seq: dict[str, int] = {}
        self._unreadable: set[str] = set()
        self._entries = 0
        self._checkpoints = 0
        self._signed = 0

    def problem(
        self,
        code: str,
        message: str,
        *,
        chain_id: str | None = None,
        seq: int | None = None,
        entry_id: str | None = None,
        checkpoint: int | None = None,
    ) -> None:
        self._problems.append(Problem(code, message, chain_id, seq, entry_id, checkpoint))

    def entry_problem(
        self, row: AuditEntryRow, code: str, message: str, checkpoint: int | None = None
    ) -> None:
        self.problem(
            code,
            message,
            chain_id=row.chain_id,
            seq=row.seq,
            entry_id=row.entry_id,
            checkpoint=checkpoint,
        )

    # -- checkpoints -------------------------------------------------------

    def checkpoints(self, rows: Sequence[AuditCheckpointRow]) -> None:
        prev_hash, prev_seq = GENESIS_HASH, None
        seen_signed = False
        for index, row in enumerate(rows):
            self._checkpoints += 1
            if row.prev_hash != prev_hash:
                after = f"checkpoint {prev_seq}" if prev_seq is not None else "the start"
                self.problem(
                    "checkpoint-link",
                    f"does not follow {after}: a checkpoint before it was removed or altered",
                    checkpoint=row.seq,
                )
            try:
                prev_hash = checkpoint_hash(row)
            except _UNREADABLE as exc:
                self.problem("checkpoint-unreadable", str(exc), checkpoint=row.seq)
                prev_hash = ""
            prev_seq = row.seq
            self._checkpoint_hashes[row.seq] = prev_hash
            signed = bool(row.signature or row.key_id)
            if signed:
                self._signed += 1
                self._check_signature(row)
            elif self._key is not None and (seen_signed or index == len(rows) - 1):
                self.problem(
                    "checkpoint-unsigned",
                    "unsigned, yet a verifying key was given and "
                    + ("an earlier checkpoint was signed" if seen_signed else "it is the latest"),
                    checkpoint=row.seq,
                )
            seen_signed = seen_signed or signed
            self._fold_heads(row)

    def _check_signature(self, row: AuditCheckpointRow) -> None:
        if self._key is None:
            return
        if row.key_id != self._key_id:
            self.problem(
                "checkpoint-key",
                f"signed with key {row.key_id or '(none)'}, not the verifying key {self._key_id}",
                checkpoint=row.seq,
            )
            return
        try:
            payload = checkpoint_payload(
                at=row.at, heads=row.heads, prev_hash=row.prev_hash, key_id=row.key_id
            )
        except _UNREADABLE:
            payload = b""
        if not signature_valid(self._key, payload, row.signature):
            self.problem(
                "checkpoint-signature",
                "signature does not verify: the checkpoint was forged or altered",
                checkpoint=row.seq,
            )

    def _fold_heads(self, row: AuditCheckpointRow) -> None:
        for chain_id, (seq, digest) in row.heads.items():
            known = self._expected.get((chain_id, seq))
            if known is None:
                self._expected[(chain_id, seq)] = _Head(digest, row.seq)
            elif known.digest != digest:
                self.problem(
                    "checkpoint-conflict",
                    f"records another hash for this entry than checkpoint {known.checkpoint}",
                    checkpoint=row.seq,
                    chain_id=chain_id,
                    seq=seq,
                )
            if seq >= self._named.get(chain_id, (0, 0))[0]:
                self._named[chain_id] = (seq, row.seq)

    # -- chains ------------------------------------------------------------

    def chain(self, chain_id: str, rows: Iterable[AuditEntryRow]) -> None:
        expected_seq, prev_hash = 1, GENESIS_HASH
        for row in rows:
            self._entry(row, expected_seq, prev_hash)
            expected_seq, prev_hash = row.seq + 1, row.hash
        self._last_seq[chain_id] = expected_seq - 1

    def unreadable(self, chain_id: str, exc: Exception) -> None:
        self._unreadable.add(chain_id)
        self.problem("unreadable", f"its entries cannot be read back: {exc}", chain_id=chain_id)

    def _entry(self, row: AuditEntryRow, expected_seq: int, prev_hash: str) -> None:
        if row.seq > expected_seq:
            missing = (
                f"seq {expected_seq}"
                if row.seq == expected_seq + 1
                else f"seqs {expected_seq}..{row.seq - 1}"
            )
            self.entry_problem(
                row, "entry-missing", f"{missing} missing before this entry: entries were deleted"
            )
        elif row.seq < expected_seq:
            self.entry_problem(row, "link-broken", "seq repeats or goes backwards")
        elif row.prev_hash != prev_hash:
            self.entry_problem(
                row,
                "link-broken",
                "prev_hash is not the previous entry's hash: entries were reordered, "
                "replaced or inserted",
            )
        try:
            altered = entry_hash(row) != row.hash
        except _UNREADABLE:
            altered = True
        if altered:
            self.entry_problem(row, "entry-altered", "hash mismatch: the entry was edited")
        if chain_id_for(row.referral_id, row.consent_id) != row.chain_id:
            self.entry_problem(
                row, "wrong-chain", "its referral or consent id does not belong to this chain"
            )
        head = self._expected.pop((row.chain_id, row.seq), None)
        if head is not None and head.digest != row.hash:
            self.entry_problem(
                row,
                "head-mismatch",
                f"differs from the entry checkpoint {head.checkpoint} recorded: the chain "
                "was rewritten, or the checkpoint forged",
                checkpoint=head.checkpoint,
            )
        if row.chain_id == HUB_CHAIN and row.action == AuditAction.CHECKPOINT:
            self._checkpoint_entries.append(row)
        self._entries += 1
        if self._progress is not None and self._entries % self._every == 0:
            self._progress(self._entries)

    # -- the end -------------------------------------------------------------

    def report(self) -> VerifyReport:
        for chain_id in sorted(self._named):
            seq, checkpoint = self._named[chain_id]
            if chain_id in self._unreadable:
                continue
            last = self._last_seq.get(chain_id)
            if last is None:
                self.problem(
                    "chain-missing",
                    f"checkpoint {checkpoint} recorded this chain up to seq {seq}, "
                    "but it has no entries: the chain was deleted",
                    chain_id=chain_id,
                    checkpoint=checkpoint,
                )
            elif last < seq:
                self.problem(
                    "chain-truncated",
                    f"ends at seq {last}, but checkpoint {checkpoint} recorded its head at "
                    f"seq {seq}: entries were removed from its tail",
                    chain_id=chain_id,
                    seq=seq,
                    checkpoint=checkpoint,
                )
        for row in self._checkpoint_entries:
            self._check_checkpoint_entry(row)
        return VerifyReport(
            entries=self._entries,
            chains=len(self._last_seq) + len(self._unreadable),
            checkpoints=self._checkpoints,
            signed_checkpoints=self._signed,
            key_id=self._key_id,
            problems=list(self._problems),
        )

    def _check_checkpoint_entry(self, row: AuditEntryRow) -> None:
        number, digest = row.details.get("checkpoint"), row.details.get("hash")
        if not isinstance(number, int):
            return  # its hash already vouches for what it says; nothing to cross-check
        stored = self._checkpoint_hashes.get(number)
        if stored is None:
            self.entry_problem(
                row,
                "checkpoint-missing",
                f"records checkpoint {number}, which is gone: checkpoints were deleted",
            )
        elif stored != digest:
            self.entry_problem(
                row,
                "checkpoint-mismatch",
                f"records another hash for checkpoint {number}: the checkpoint was altered",
                checkpoint=number,
            )


def verify(
    conn: Connection,
    public_key: Ed25519PublicKey | None = None,
    *,
    progress: Progress | None = None,
    progress_every: int = 10_000,
) -> VerifyReport:
    """Check the stored log; with ``public_key``, check checkpoint signatures too.

    Chains are read one at a time in chain order, so memory holds one chain
    and the checkpoints' heads, not the whole log.
    """
    verifier = _Verifier(public_key, progress, progress_every)
    try:
        checkpoints = audit_store.checkpoints(conn)
    except _UNREADABLE as exc:
        verifier.problem("checkpoint-unreadable", f"checkpoints cannot be read back: {exc}")
        checkpoints = []
    verifier.checkpoints(checkpoints)
    try:
        chain_ids = sorted(audit_store.all_chain_heads(conn))
    except _UNREADABLE as exc:
        verifier.problem("unreadable", f"the chains cannot be listed: {exc}")
        chain_ids = []
    for chain_id in chain_ids:
        try:
            rows = audit_store.entries(conn, chain_id=chain_id)
        except _UNREADABLE as exc:
            verifier.unreadable(chain_id, exc)
            continue
        verifier.chain(chain_id, rows)
    return verifier.report()


def verify_log(
    entries: Iterable[AuditEntryRow],
    checkpoints: Sequence[AuditCheckpointRow],
    public_key: Ed25519PublicKey | None = None,
) -> VerifyReport:
    """Check a log held in memory: entries in any order, checkpoints oldest first."""
    verifier = _Verifier(public_key, None, 1)
    verifier.checkpoints(checkpoints)
    chains: dict[str, list[AuditEntryRow]] = defaultdict(list)
    for row in entries:
        chains[row.chain_id].append(row)
    for chain_id in sorted(chains):
        verifier.chain(chain_id, sorted(chains[chain_id], key=lambda row: row.seq))
    return verifier.report()
