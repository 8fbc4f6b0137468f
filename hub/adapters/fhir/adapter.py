"""The ``fhir`` adapter: hospitals' FHIR R4 and R5 JSON, both ways."""

from __future__ import annotations

from typing import ClassVar

from hub.adapters.base import Adapter, AdapterContext, NativeInput
from hub.adapters.fhir._parsing import read_document
from hub.adapters.fhir._versions import FhirVersion
from hub.adapters.fhir.decode import decode_document
from hub.adapters.fhir.encode import ReferralParties, encode_event
from hub.contracts import CloudEvent

__all__ = ["FhirAdapter"]


class FhirAdapter(Adapter):
    """Decodes Bundles, Tasks and ServiceRequests; encodes transaction Bundles.

    ``fhir_version`` (or the context option of that name) fixes the version of
    what is decoded and the default for what is encoded; unset, decoding tells
    the version from the document and encoding writes R4.
    """

    name: ClassVar[str] = "fhir"

    def __init__(self, context: AdapterContext, *, fhir_version: FhirVersion | None = None) -> None:
        super().__init__(context)
        option = context.options.get("fhir_version")
        self.fhir_version = fhir_version or (FhirVersion.parse(option) if option else None)

    def decode(self, native: NativeInput) -> list[CloudEvent]:
        document = read_document(native)
        return decode_document(document, declared=self.fhir_version, context=self.context)

    def encode(
        self,
        event: CloudEvent,
        *,
        target_version: str | None = None,
        parties: ReferralParties | None = None,
    ) -> dict[str, object]:
        version = (
            FhirVersion.parse(target_version)
            if target_version is not None
            else self.fhir_version or FhirVersion.R4
        )
        return encode_event(
            event,
            version,
            registry=self.context.registry,
            parties=parties,
            directory=self.context.directory,
        )
