"""Audit entries reach the ``hub.audit`` topic, keyed by chain, as they are archived."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from hub.broker.topics import AUDIT
from hub.contracts import AgencyKind, DataCategory, Purpose
from hub.store import audit as audit_store
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    group_timings,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    wait_for_inbox,
)

pytestmark = pytest.mark.integration


async def test_every_archived_entry_is_streamed_with_its_hash(
    kafka_bootstrap: str, kafka_engine: str, tmp_path: Path
) -> None:
    """What the store archives for a referral appears on hub.audit, same ids and hashes."""
    hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
    settings = hub_settings(
        tmp_path, [hospital, court], kafka_bootstrap=kafka_bootstrap, kafka_engine=kafka_engine
    )
    consent = consent_payload(hospital, [scope(court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    referral = referral_event(hospital, court, consent)
    consumer = AIOKafkaConsumer(
        AUDIT,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"audit-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        **group_timings(kafka_engine),
    )
    async with started_hub(settings, [hospital, court]) as hub:
        for event in (consent_event(consent), referral):
            assert (await post_event(hub.client, hospital, event)).status_code == 202
        await wait_for_inbox(hub.client, court, lambda e: e["id"] == referral.id)
        with hub.hub.services.store.transaction() as conn:
            archived = audit_store.entries(conn, chain_id=f"referral:{referral.subject}")
        assert archived
        await consumer.start()
        try:
            streamed: dict[str, dict[str, object]] = {}
            deadline = asyncio.get_running_loop().time() + 20
            wanted = {entry.entry_id for entry in archived}
            while not wanted <= set(streamed) and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        document = json.loads(record.value)
                        assert record.key == document["chain_id"].encode()
                        streamed[document["entry_id"]] = document
        finally:
            await consumer.stop()
    for entry in archived:
        assert streamed[entry.entry_id]["hash"] == entry.hash
        assert streamed[entry.entry_id]["seq"] == entry.seq
