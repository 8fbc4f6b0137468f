"""FHIR mode: POST the event as a transaction Bundle to the hospital's FHIR base URL.

The Bundle is written for the FHIR version the agency is configured with. A
status update is a conditional PUT of the Task; with the store at hand the
transport adds what the hub knows of the referral (requester, owner, patient
pseudonym), so the hospital's Task stays whole. Retries and dead-lettering are
the delivery worker's: this only says whether another attempt may succeed.
Nothing of the answer's body is kept, since a server may echo survivor data.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from hub.adapters.fhir import FhirVersion, ReferralParties, encode_event
from hub.config import AgencyConfig, FhirDelivery
from hub.contracts import CloudEvent, ContractRegistry, default_registry
from hub.delivery.http import post_to_agency
from hub.errors import AdapterError, DeliveryError, StoreError
from hub.store import Store, referrals

__all__ = ["FHIR_JSON", "FhirTransport"]

FHIR_JSON = "application/fhir+json"


class FhirTransport:
    mode = "fhir"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        store: Store | None = None,
        registry: ContractRegistry | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._registry = registry or default_registry()

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None:
        settings = agency.delivery
        if not isinstance(settings, FhirDelivery):
            raise DeliveryError(f"{agency.id} is not configured for FHIR delivery", retriable=False)
        parties = await self._parties(event)
        try:
            bundle = encode_event(
                event,
                FhirVersion(settings.fhir_version),
                registry=self._registry,
                parties=parties,
            )
        except AdapterError as exc:
            raise DeliveryError(
                f"{event.type} cannot be written as FHIR for {agency.id}: {exc.reason}",
                retriable=False,
            ) from exc
        body = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
        if settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {settings.bearer_token.get_secret_value()}"
        await post_to_agency(self._client, agency.id, settings.base_url.rstrip("/"), body, headers)

    async def _parties(self, event: CloudEvent) -> ReferralParties | None:
        if self._store is None or event.type != "referral.status-changed":
            return None
        store = self._store

        def read() -> ReferralParties | None:
            with store.transaction() as conn:
                row = referrals.get_referral(conn, event.subject)
            if row is None:
                return None
            return ReferralParties(row.from_agency, row.to_agency, row.subject_id)

        try:
            return await asyncio.to_thread(read)
        except StoreError as exc:
            # A Task written without its parties would strip the hospital's copy.
            raise DeliveryError(f"store unavailable: {exc}") from exc
