"""Configuration: settings, agencies and pathways."""

from hub.config.agencies import AgencyConfig, FhirDelivery, PullDelivery, WebhookDelivery
from hub.config.court_files import CourtFilesDelivery, SftpSettings
from hub.config.pathways import PathwayConfig, PathwayStep
from hub.config.settings import (
    AuditSettings,
    DeliverySettings,
    DisclosureSettings,
    HubSettings,
    load_settings,
)
from hub.config.social_db import SocialDbDelivery

__all__ = [
    "AgencyConfig",
    "AuditSettings",
    "CourtFilesDelivery",
    "DeliverySettings",
    "DisclosureSettings",
    "FhirDelivery",
    "HubSettings",
    "PathwayConfig",
    "PathwayStep",
    "PullDelivery",
    "SftpSettings",
    "SocialDbDelivery",
    "WebhookDelivery",
    "load_settings",
]
