"""Figure 4: the FHIR adapter decoding Bundles, against bare fhir.resources parsing.

The Bundles are what the adapter's own encoder makes of the bench's canonical
referrals (R4 transaction Bundles: Patient, two Organizations, Consent,
ServiceRequest, Task), so they are ones the decoder must accept. The baseline
parses the same bytes with ``Bundle.model_validate_json`` of the R4B models the
adapter uses for R4; the ratio shows what the adapter costs on top of parsing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from bench.errors import Unavailable
from bench.stats import rate
from bench.workload import SENDER, Workload

__all__ = ["FhirBench", "prepare"]

_PSEUDONYM_KEY = b"bench-pseudonym-key-0123456789ab"


@dataclass(frozen=True)
class FhirBench:
    bundles: list[bytes]
    decode: Callable[[bytes], object]
    parse: Callable[[bytes], object]

    @property
    def bundle_bytes(self) -> int:
        return len(self.bundles[0])

    def measure(self, seconds: float) -> tuple[float, float]:
        """(adapter Bundles/s, bare parse Bundles/s), measured back to back."""
        bare = rate(self.parse, self.bundles, seconds)
        adapter = rate(self.decode, self.bundles, seconds)
        return adapter, bare


def prepare(workload: Workload, count: int) -> FhirBench:
    """Encode ``count`` referrals as Bundles; Unavailable if the adapter is not there."""
    try:
        from hub.adapters import AdapterContext
        from hub.adapters.fhir import FhirAdapter
    except ImportError as exc:
        raise Unavailable(f"hub.adapters.fhir cannot be imported: {exc}") from exc
    from fhir.resources.R4B.bundle import Bundle

    try:
        adapter = FhirAdapter(AdapterContext(pseudonym_key=_PSEUDONYM_KEY, source=SENDER))
        bundles = [
            json.dumps(adapter.encode(event)).encode()
            for event in workload.referrals("fhir", count)
        ]
        decoded = adapter.decode(bundles[0])
    except Exception as exc:
        raise Unavailable(f"the FHIR adapter cannot round-trip a Bundle: {exc!r}") from exc
    if not decoded:
        raise Unavailable("the FHIR adapter decoded a referral Bundle to no event")
    return FhirBench(bundles=bundles, decode=adapter.decode, parse=Bundle.model_validate_json)
