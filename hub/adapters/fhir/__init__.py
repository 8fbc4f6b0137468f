"""The FHIR adapter (hospitals): R4 (through the R4B models) and R5 JSON.

Inbound, a Bundle, Task or ServiceRequest becomes canonical events
(:mod:`hub.adapters.fhir.decode`); outbound, an event becomes a transaction
Bundle (:mod:`hub.adapters.fhir.encode`). The code and identifier systems that
connect the two worlds are in :mod:`hub.adapters.fhir.mapping`; what the hub's
FHIR endpoints answer is built in :mod:`hub.adapters.fhir.responses`.
"""

from hub.adapters.fhir._parsing import MAX_INPUT_BYTES, read_document
from hub.adapters.fhir._versions import FhirVersion, detect_version
from hub.adapters.fhir.adapter import FhirAdapter
from hub.adapters.fhir.decode import decode_document
from hub.adapters.fhir.encode import ENCODED_TYPES, ReferralParties, encode_event

__all__ = [
    "ENCODED_TYPES",
    "MAX_INPUT_BYTES",
    "FhirAdapter",
    "FhirVersion",
    "ReferralParties",
    "decode_document",
    "detect_version",
    "encode_event",
    "read_document",
]
