"""The social-db adapter: an agency's own relational database as its connection to the hub.

Inbound, :class:`ChangeCapture` polls the tables where the agency's application
records referrals, status changes and outcomes; outbound, the hub writes what
the agency receives into its inbound table (see :mod:`hub.delivery.social_db`).
Which table and column holds what is configuration
(:class:`hub.config.social_db.SocialDbDelivery`).
"""

from hub.adapters.social_db._rows import decode_row, encode_row, row_event_id
from hub.adapters.social_db.adapter import SocialDbAdapter
from hub.adapters.social_db.capture import CaptureReport, ChangeCapture
from hub.adapters.social_db.database import (
    AgencyDatabase,
    AgencyDatabaseError,
    Claimed,
    Settlement,
)
from hub.adapters.social_db.schema_check import Mismatch, check_schema

__all__ = [
    "AgencyDatabase",
    "AgencyDatabaseError",
    "CaptureReport",
    "ChangeCapture",
    "Claimed",
    "Mismatch",
    "Settlement",
    "SocialDbAdapter",
    "check_schema",
    "decode_row",
    "encode_row",
    "row_event_id",
]
