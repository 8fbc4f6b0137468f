"""Checking the audit log: every chain recomputed, every checkpoint checked.

What each kind of tampering looks like to the verifier:

- an edited entry no longer hashes to its stored ``hash`` (``entry-altered``);
  one whose hash was recomputed breaks the next entry's link instead, and one
  whose whole tail was recomputed no longer matches a checkpoint's head;
- a deleted entry leaves a gap in ``seq`` (``entry-missing``);
- reordered or inserted entries break ``prev_hash`` links (``link-broken``)
  and, since ``seq`` is hashed, their own hashes;
- a truncated chain ends before the newest head any checkpoint recorded for
  it (``chain-truncated``), and a deleted chain is named by a checkpoint but
  gone (``chain-missing``). Checkpoints are deltas (see
  :mod:`hub.audit.checkpoints`), so that checkpoint may be one written long
  before the latest: a chain that stopped advancing is still held to it;
- a forged or altered checkpoint fails its signature, names heads the chains
  do not have (``head-mismatch``), records another hash for an entry than an
  earlier checkpoint did (``checkpoint-conflict``), or breaks the link of the
  checkpoint after it (``checkpoint-link``); a removed latest checkpoint is
  still named by the hub chain's ``checkpoint`` entry (``checkpoint-missing``).

Entries after the latest checkpoint are protected by their links only: until
the next checkpoint, someone who can write to the database can rewrite or cut
that tail unnoticed. Checkpoints often, and on shutdown, keep that window small.

Work is linear in the size of the log: every checkpoint's heads are folded
into one map per chain (deltas name each head about once, however many
checkpoints there are), and the entries are read in one ordered stream, a
chain at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TypeAlias

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from hub.audit._canonical import GENESIS_HASH, sha256_hex
from hub.audit.chain import entry_hash
from hub.audit.checkpoints import checkpoint_payload
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


# Stands for "no row seen yet" where None is a value a row may hold.
_UNSET: object = object()


class _Verifier:
    def __init__(
        self, public_key: Ed25519PublicKey | None, progress: Progress | None, every: int
    ) -> None:
        self._key = public_key
        self._key_id = key_id_of(public_key) if public_key is not None else None
        self._progress = progress
        self._every = every
        self._problems: list[Problem] = []
        # chain -> seq -> the hash checkpoints recorded for that entry. Plain
        # strings and ints: a garbage collector pass skips such maps, and a
        # verifier holds one per chain.
        self._expected: dict[str, dict[int, str]] = {}
        # recorded hash -> the first checkpoint that recorded it.
        self._recorded_by: dict[str, int] = {}
        # chain -> the highest head any checkpoint recorded for it, and which did.
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
                payload = checkpoint_payload(
                    at=row.at, heads=row.heads, prev_hash=row.prev_hash, key_id=row.key_id
                )
            except _UNREADABLE as exc:
                self.problem("checkpoint-unreadable", str(exc), checkpoint=row.seq)
                payload = None
            prev_hash = sha256_hex(payload) if payload is not None else ""
            prev_seq = row.seq
            self._checkpoint_hashes[row.seq] = prev_hash
            signed = bool(row.signature or row.key_id)
            if signed:
                self._signed += 1
                self._check_signature(row, payload or b"")
            elif self._key is not None and (seen_signed or index == len(rows) - 1):
                self.problem(
                    "checkpoint-unsigned",
                    "unsigned, yet a verifying key was given and "
                    + ("an earlier checkpoint was signed" if seen_signed else "it is the latest"),
                    checkpoint=row.seq,
                )
            seen_signed = seen_signed or signed
            self._fold_heads(row)

    def _check_signature(self, row: AuditCheckpointRow, payload: bytes) -> None:
        if self._key is None:
            return
        if row.key_id != self._key_id:
            self.problem(
                "checkpoint-key",
                f"signed with key {row.key_id or '(none)'}, not the verifying key {self._key_id}",
                checkpoint=row.seq,
            )
            return
        if not signature_valid(self._key, payload, row.signature):
            self.problem(
                "checkpoint-signature",
                "signature does not verify: the checkpoint was forged or altered",
                checkpoint=row.seq,
            )

    def _fold_heads(self, row: AuditCheckpointRow) -> None:
        # Checkpoints are deltas, so each chain's heads are spread over many
        # of them: fold them all, and keep the highest for the truncation check.
        for chain_id, (seq, digest) in row.heads.items():
            recorded = self._expected.setdefault(chain_id, {})
            known = recorded.get(seq)
            if known is None:
                recorded[seq] = digest
                self._recorded_by.setdefault(digest, row.seq)
            elif known != digest:
                self.problem(
                    "checkpoint-conflict",
                    "records another hash for this entry than checkpoint "
                    f"{self._recorded_by[known]}",
                    checkpoint=row.seq,
                    chain_id=chain_id,
                    seq=seq,
                )
            if seq >= self._named.get(chain_id, (0, 0))[0]:
                self._named[chain_id] = (seq, row.seq)

    # -- chains ------------------------------------------------------------

    def chain(self, chain_id: str, rows: Iterable[AuditEntryRow]) -> None:
        """Check one chain's entries, given in seq order.

        The hot loop of verification: per entry it only compares, hashes and
        looks up; anything found wrong is described by the slower helpers.
        """
        recorded = self._expected.pop(chain_id, None)
        notes_checkpoints = chain_id == HUB_CHAIN
        count = self._entries
        report_at = count - count % self._every + self._every if self._progress else -1
        referral_id: object = _UNSET
        consent_id: object = _UNSET
        owned = True
        expected_seq, prev_hash = 1, GENESIS_HASH
        for row in rows:
            seq = row.seq
            if seq != expected_seq or row.prev_hash != prev_hash:
                self._link_problem(row, expected_seq, prev_hash)
            try:
                altered = entry_hash(row) != row.hash
            except _UNREADABLE:
                altered = True
            if altered:
                self.entry_problem(row, "entry-altered", "hash mismatch: the entry was edited")
            # A chain's entries mostly share their ids; work out the chain they
            # belong to only when the ids change.
            if row.referral_id != referral_id or row.consent_id != consent_id:
                referral_id, consent_id = row.referral_id, row.consent_id
                owned = chain_id_for(row.referral_id, row.consent_id) == chain_id
            if not owned:
                self.entry_problem(
                    row, "wrong-chain", "its referral or consent id does not belong to this chain"
                )
            if recorded:
                head = recorded.pop(seq, None)
                if head is not None and head != row.hash:
                    self._head_mismatch(row, head)
            if notes_checkpoints and row.action == AuditAction.CHECKPOINT:
                self._checkpoint_entries.append(row)
            expected_seq, prev_hash = seq + 1, row.hash
            count += 1
            if count == report_at:
                self._report_progress(count)
                report_at += self._every
        self._entries = count
        self._last_seq[chain_id] = expected_seq - 1

    def _link_problem(self, row: AuditEntryRow, expected_seq: int, prev_hash: str) -> None:
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

    def _head_mismatch(self, row: AuditEntryRow, recorded: str) -> None:
        checkpoint = self._recorded_by[recorded]
        self.entry_problem(
            row,
            "head-mismatch",
            f"differs from the entry checkpoint {checkpoint} recorded: the chain "
            "was rewritten, or the checkpoint forged",
            checkpoint=checkpoint,
        )

    def _report_progress(self, count: int) -> None:
        if self._progress is not None:
            self._progress(count)

    def unreadable(self, chain_id: str, exc: Exception) -> None:
        self._unreadable.add(chain_id)
        self.problem("unreadable", f"its entries cannot be read back: {exc}", chain_id=chain_id)

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

    The entries are read in one streamed query in chain order, so memory
    holds one chain and the checkpoints' heads, not the whole log.
    """
    verifier = _Verifier(public_key, progress, progress_every)
    try:
        checkpoints = audit_store.checkpoints(conn)
    except _UNREADABLE as exc:
        verifier.problem("checkpoint-unreadable", f"checkpoints cannot be read back: {exc}")
        checkpoints = []
    verifier.checkpoints(checkpoints)
    after: str | None = None
    while True:
        after, finished = _verify_streamed(conn, verifier, after)
        if finished:
            break
        # A row could not be read back; the stream cannot say whose, so read
        # chains one by one until the culprit, then stream on after it.
        after = _verify_one_by_one(conn, verifier, after)
        if after is None:
            break
    return verifier.report()


def _verify_streamed(
    conn: Connection, verifier: _Verifier, after: str | None
) -> tuple[str | None, bool]:
    """Verify the chains after ``after`` from one stream: (the last one verified, stream ended)."""
    chains = audit_store.stream_chains(conn, after=after)
    while True:
        try:
            chain_id, rows = next(chains)
        except StopIteration:
            return after, True
        except _UNREADABLE:
            return after, False
        verifier.chain(chain_id, rows)
        after = chain_id


def _verify_one_by_one(conn: Connection, verifier: _Verifier, after: str | None) -> str | None:
    """Verify the chains after ``after``, each read alone, up to the first unreadable one.

    Returns that chain's id, or None when every remaining chain could be read.
    """
    while (chain_id := audit_store.next_chain_id(conn, after)) is not None:
        try:
            rows = audit_store.entries(conn, chain_id=chain_id)
        except _UNREADABLE as exc:
            verifier.unreadable(chain_id, exc)
            return chain_id
        verifier.chain(chain_id, rows)
        after = chain_id
    return None


_BY_SEQ = attrgetter("seq")


def verify_log(
    entries: Iterable[AuditEntryRow],
    checkpoints: Sequence[AuditCheckpointRow],
    public_key: Ed25519PublicKey | None = None,
) -> VerifyReport:
    """Check a log held in memory: entries in any order, checkpoints oldest first."""
    verifier = _Verifier(public_key, None, 1)
    verifier.checkpoints(checkpoints)
    chains: defaultdict[str, list[AuditEntryRow]] = defaultdict(list)
    for row in entries:
        chains[row.chain_id].append(row)
    for chain_id in sorted(chains):
        rows = chains[chain_id]
        rows.sort(key=_BY_SEQ)
        verifier.chain(chain_id, rows)
    return verifier.report()
