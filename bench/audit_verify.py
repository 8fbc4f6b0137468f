"""Figure 5: verifying the audit log, against bare JSON parsing plus SHA-256.

A log is written through the hub's own recorder into a SQLite store: per
referral an ``accepted``, a ``routed``, a ``delivered`` and an
``acknowledged`` entry on the referral's chain, with a signed checkpoint every
200 entries. The entries are exported as one JSON document per line, the form
an auditor receives. The hub side parses each line into an entry and runs
``verify_log`` with the public key (every hash, link and checkpoint signature
checked); the baseline parses the same lines and hashes each with SHA-256,
the least any verifier must do. ``verify(conn)`` straight from the store is
measured as well, for the figure an auditor running ``hub audit verify`` sees.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.errors import Unavailable
from bench.stats import rate
from bench.workload import RECIPIENT, SENDER
from hub.store import AuditCheckpointRow, AuditEntryRow, Store
from hub.store import audit as audit_store

__all__ = ["AuditBench", "prepare"]

_CHECKPOINT_EVERY = 200


@dataclass(frozen=True)
class AuditBench:
    lines: list[bytes]
    checkpoints: list[AuditCheckpointRow]
    store: Store
    public_key: Any
    verify_log: Callable[..., Any]
    verify: Callable[..., Any]

    def measure(self, seconds: float) -> tuple[float, float, float]:
        """(verify_log entries/s, bare entries/s, store-backed verify entries/s)."""
        bare = rate(_bare, self.lines, seconds)
        from_lines = self._timed(self.verify_lines, seconds)
        from_store = self._timed(self.verify_store, seconds)
        return from_lines, bare, from_store

    def _timed(self, check: Callable[[], None], seconds: float) -> float:
        # One pass verifies the whole log; repeat it until enough time has passed.
        passes = 0
        start = time.perf_counter()
        while True:
            check()
            passes += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return passes * len(self.lines) / elapsed

    def verify_lines(self) -> None:
        """Parse every line and verify the log they make, checkpoints and signatures included."""
        rows = [_entry(json.loads(line)) for line in self.lines]
        _ok(self.verify_log(rows, self.checkpoints, self.public_key))

    def verify_store(self) -> None:
        """Verify the log as stored, as ``hub audit verify`` does."""
        with self.store.transaction() as conn:
            _ok(self.verify(conn, self.public_key))


def prepare(workdir: Path, referrals: int) -> AuditBench:
    """Write the log; Unavailable if the hub's audit package cannot do it yet."""
    try:
        audit = importlib.import_module("hub.audit")
        verify_module = importlib.import_module("hub.audit.verify")
    except ImportError as exc:
        raise Unavailable(f"hub.audit.verify cannot be imported: {exc}") from exc
    store = Store.open(f"sqlite:///{workdir / 'audit.db'}")
    try:
        signer = audit.Signer.from_seed(audit.generate_seed())
        recorder = audit.AuditRecorder(signer=signer, checkpoint_every=_CHECKPOINT_EVERY)
        _write_log(store, audit, recorder, referrals)
        with store.transaction() as conn:
            entries = audit_store.entries(conn)
            checkpoints = audit_store.checkpoints(conn)
        bench = AuditBench(
            lines=[_line(row) for row in entries],
            checkpoints=checkpoints,
            store=store,
            public_key=signer.public_key,
            verify_log=verify_module.verify_log,
            verify=verify_module.verify,
        )
        bench.verify_lines()
        bench.verify_store()
    except Unavailable:
        store.close()
        raise
    except Exception as exc:
        store.close()
        raise Unavailable(f"the audit package cannot write and verify a log: {exc!r}") from exc
    return bench


def _write_log(store: Store, audit: Any, recorder: Any, referrals: int) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    actions = (
        (audit.AuditAction.ACCEPTED, SENDER, None),
        (audit.AuditAction.ROUTED, "referral-hub", ("contact", "narrative", "safety-risk")),
        (audit.AuditAction.DELIVERED, "referral-hub", ("contact", "narrative", "safety-risk")),
        (audit.AuditAction.ACKNOWLEDGED, RECIPIENT, None),
    )
    for n in range(referrals):
        at = start + timedelta(seconds=n)
        with store.transaction() as conn:
            for step, (action, actor, disclosed) in enumerate(actions):
                details = (
                    audit.disclosure_details(recipient=RECIPIENT, disclosed=disclosed)
                    if disclosed is not None
                    else {"step": step}
                )
                recorder.record(
                    conn,
                    action=action,
                    actor=actor,
                    at=at + timedelta(milliseconds=step),
                    event_id=f"evt-{n:07d}-{step}",
                    referral_id=f"ref-audit-{n:07d}",
                    consent_id=f"cns-bench-{n % 32:04d}",
                    details=details,
                )


def _line(row: AuditEntryRow) -> bytes:
    document = dataclasses.asdict(row)
    document["at"] = row.at.isoformat()
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _entry(document: dict[str, Any]) -> AuditEntryRow:
    document["at"] = datetime.fromisoformat(document["at"])
    return AuditEntryRow(**document)


def _bare(line: bytes) -> None:
    json.loads(line)
    hashlib.sha256(line).digest()


def _ok(report: Any) -> None:
    if not report.ok:
        raise RuntimeError(f"the benchmark's audit log does not verify: {report.problems[:3]}")
