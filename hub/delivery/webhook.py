"""Webhook mode: POST the structured CloudEvent to the agency's URL, signed."""

from __future__ import annotations

import time

import httpx

from hub.config import AgencyConfig, WebhookDelivery
from hub.contracts import CloudEvent
from hub.contracts.envelope import STRUCTURED_CONTENT_TYPE
from hub.delivery.http import post_to_agency
from hub.delivery.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from hub.errors import DeliveryError

__all__ = ["WebhookTransport"]


class WebhookTransport:
    mode = "webhook"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def deliver(self, agency: AgencyConfig, event: CloudEvent) -> None:
        settings = agency.delivery
        if not isinstance(settings, WebhookDelivery):
            raise DeliveryError(
                f"{agency.id} is not configured for webhook delivery", retriable=False
            )
        body = event.to_json()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": STRUCTURED_CONTENT_TYPE,
            "Ce-Id": event.id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(settings.secret.get_secret_value(), timestamp, body),
        }
        await post_to_agency(self._client, agency.id, settings.url, body, headers)
