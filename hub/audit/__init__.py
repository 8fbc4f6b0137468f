"""The tamper-evident audit log: hash chains, signed checkpoints, and what auditors run.

Every decision the hub makes is an entry appended to a hash chain (one per
referral, one per free-standing consent, one for the hub), in the same
transaction as the decision's effect. Signed checkpoints, each over the heads
of the chains that advanced since the one before, make removed chains and cut
tails detectable too. Auditors verify the log, replay it, and check every
disclosure against the consent in force at its time; erasure destroys a
subject's data key and leaves the proof intact::

    recorder = AuditRecorder.from_settings(settings.audit, actor=settings.hub_id)
    with store.transaction() as conn:
        ...  # the state change
        recorder.record(conn, action=AuditAction.ROUTED, actor=hub_id, at=now,
                        event_id=event.id, referral_id=referral_id, consent_id=consent_id,
                        details=disclosure_details(recipient=agency, disclosed=categories))

    with store.transaction() as conn:  # many entries at once: a few statements in all
        recorder.record_many(conn, [EntryDraft(AuditAction.DELIVERED, hub_id, now,
                                               referral_id=r) for r in referral_ids])

    with store.transaction() as conn:
        report = verify(conn, public_key)
"""

from hub.audit.chain import AuditRecorder, EntryDraft, append_entry, entry_hash
from hub.audit.checkpoints import checkpoint_hash, write_checkpoint
from hub.audit.entries import (
    DISCLOSURE_ACTIONS,
    HUB_CHAIN,
    AuditAction,
    chain_id_for,
    disclosure_details,
    validate_details,
)
from hub.audit.erasure import SubjectErased, decrypt_payload, encrypt_payload, erase_subject
from hub.audit.replay import TimelineItem, timeline
from hub.audit.report import (
    ConsentReport,
    Override,
    Violation,
    agency_kinds,
    check_disclosures,
    consent_report,
)
from hub.audit.signing import Signer, generate_seed, key_id_of, load_public_key, public_key_b64
from hub.audit.verify import Problem, VerifyReport, verify, verify_log

__all__ = [
    "DISCLOSURE_ACTIONS",
    "HUB_CHAIN",
    "AuditAction",
    "AuditRecorder",
    "ConsentReport",
    "EntryDraft",
    "Override",
    "Problem",
    "Signer",
    "SubjectErased",
    "TimelineItem",
    "VerifyReport",
    "Violation",
    "agency_kinds",
    "append_entry",
    "chain_id_for",
    "check_disclosures",
    "checkpoint_hash",
    "consent_report",
    "decrypt_payload",
    "disclosure_details",
    "encrypt_payload",
    "entry_hash",
    "erase_subject",
    "generate_seed",
    "key_id_of",
    "load_public_key",
    "public_key_b64",
    "timeline",
    "validate_details",
    "verify",
    "verify_log",
    "write_checkpoint",
]
