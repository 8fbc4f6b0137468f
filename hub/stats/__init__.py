"""Aggregates for partners: counts and times that never single anyone out.

Pure functions over the facts the store keeps for referrals whose consent
allows statistics; the CLI and the API only read the store and render.
"""

from hub.stats.export import DIMENSIONS, Export, StatsRequest, build_export
from hub.stats.facts import ReferralFacts
from hub.stats.suppression import SUPPRESSED_BELOW, SUPPRESSED_COMPLEMENT, SuppressedTable

__all__ = [
    "DIMENSIONS",
    "SUPPRESSED_BELOW",
    "SUPPRESSED_COMPLEMENT",
    "Export",
    "ReferralFacts",
    "StatsRequest",
    "SuppressedTable",
    "build_export",
]
