"""The court adapter: registry records exchanged as files (XML or CSV) in folders or SFTP.

Format: ``court-records-v1.xsd`` (published in ``contracts-docs/court/``) and its
CSV variant. Exchange: :mod:`hub.adapters.court.exchange`.
"""

from hub.adapters.court._csv import DEFAULT_COLUMNS, parse_csv, write_csv
from hub.adapters.court._records import Record, record_event_id, record_of, to_event
from hub.adapters.court._xml import NAMESPACE, court_schema, parse_xml, schema_text, write_xml
from hub.adapters.court.adapter import CourtAdapter

__all__ = [
    "DEFAULT_COLUMNS",
    "NAMESPACE",
    "CourtAdapter",
    "Record",
    "court_schema",
    "parse_csv",
    "parse_xml",
    "record_event_id",
    "record_of",
    "schema_text",
    "to_event",
    "write_csv",
    "write_xml",
]
