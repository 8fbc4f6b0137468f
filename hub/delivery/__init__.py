"""Outbound delivery: one transport per delivery mode."""

from hub.delivery.base import BatchTransport, Transport
from hub.delivery.fhir import FhirTransport
from hub.delivery.pull import PullTransport
from hub.delivery.webhook import WebhookTransport

__all__ = ["BatchTransport", "FhirTransport", "PullTransport", "Transport", "WebhookTransport"]
