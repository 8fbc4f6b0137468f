"""Canonical, versioned contracts: event payloads, the envelope, the registry.

This package knows nothing of I/O: adapters and consumers import it, never the
other way round.
"""

from hub.contracts.agency import AgencyKind
from hub.contracts.categories import DataCategory, field_categories
from hub.contracts.compatibility import CompatibilityMode, classify
from hub.contracts.envelope import (
    MAX_EVENT_BYTES,
    CloudEvent,
    KafkaRecord,
    from_kafka,
    new_event,
    parse_structured,
    to_kafka,
)
from hub.contracts.registry import Contract, ContractRegistry, build_registry, default_registry
from hub.contracts.status import ReferralStatus, check_transition
from hub.contracts.vocabulary import Purpose, ServiceCode

__all__ = [
    "MAX_EVENT_BYTES",
    "AgencyKind",
    "CloudEvent",
    "CompatibilityMode",
    "Contract",
    "ContractRegistry",
    "DataCategory",
    "KafkaRecord",
    "Purpose",
    "ReferralStatus",
    "ServiceCode",
    "build_registry",
    "check_transition",
    "classify",
    "default_registry",
    "field_categories",
    "from_kafka",
    "new_event",
    "parse_structured",
    "to_kafka",
]
