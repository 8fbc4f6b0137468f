"""Configuration: settings, agencies and pathways."""

from hub.config.agencies import AgencyConfig, FhirDelivery, PullDelivery, WebhookDelivery
from hub.config.pathways import PathwayConfig, PathwayStep
from hub.config.settings import (
    AuditSettings,
    DeliverySettings,
    DisclosureSettings,
    HubSettings,
    load_settings,
)

__all__ = [
    "AgencyConfig",
    "AuditSettings",
    "DeliverySettings",
    "DisclosureSettings",
    "FhirDelivery",
    "HubSettings",
    "PathwayConfig",
    "PathwayStep",
    "PullDelivery",
    "WebhookDelivery",
    "load_settings",
]
