"""Conformance on real published FHIR examples (``../shared/corpus/fhir``, see its SOURCES.md).

Every ServiceRequest, Task and Bundle of the corpus is decoded, in the version
its publisher declares (R4 and R4B files as R4) and with the version left to
detection. Referral-shaped files, listed below, must give valid canonical
events; every other file must fail with an AdapterError, never another
exception. The corpus is not part of the repository: without it (a user's
clone) this module is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.adapters import AdapterContext
from hub.adapters.fhir import FhirAdapter, FhirVersion
from hub.contracts import default_registry
from hub.errors import AdapterError
from tests.adapters.fhir_samples import KEY

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "fhir"
if not CORPUS.is_dir():
    pytest.skip(
        f"the FHIR example corpus is not here ({CORPUS}); it lives beside the repository, "
        "not in it",
        allow_module_level=True,
    )

#: The agency the corpus files are taken to come from (they name no hub agency).
SENDER = "corpus-agency"

#: Referral-shaped files and the event types they give. Each is a referral
#: management Task ('fulfill', or no code) focusing a ServiceRequest, in a
#: status past 'requested': a status update of that referral. Everything else
#: in the corpus is refused, for reasons the test ids show (no hub agency as
#: performer, no consent, a completed ServiceRequest, a lab or patient Task,
#: unsupported resources such as Observation or Encounter in a Bundle...).
REFERRAL_SHAPED: dict[str, tuple[str, ...]] = {
    "R4/Task/Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample.json": (
        "referral.status-changed",
    ),
    "R4/Task/Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample.json": (
        "referral.status-changed",
    ),
    "R4/Task/Task-SDOHCC-TaskReferralManagementOrderSubtaskAcceptedExample.json": (
        "referral.status-changed",
    ),
    "R4/Task/Task-SDOHCC-TaskReferralManagementOrderSubtaskCompletedExample.json": (
        "referral.status-changed",
    ),
    "R5/Task/Task-example1.json": ("referral.status-changed",),
}

KINDS = ("ServiceRequest", "Task", "Bundle")
FILES = sorted(
    path.relative_to(CORPUS).as_posix()
    for kind in KINDS
    for path in CORPUS.glob(f"*/{kind}/*.json")
)


def declared_version(name: str) -> FhirVersion:
    return FhirVersion.R5 if name.startswith("R5/") else FhirVersion.R4


def decode(name: str, version: FhirVersion | None) -> list[str]:
    adapter = FhirAdapter(AdapterContext(pseudonym_key=KEY, source=SENDER), fhir_version=version)
    events = adapter.decode((CORPUS / name).read_bytes())
    registry = default_registry()
    for event in events:
        registry.parse(event)
        assert event.source == SENDER
    return [event.type for event in events]


def test_the_corpus_has_the_files_this_table_names() -> None:
    """The expectations table names real files, and the corpus still has them all."""
    assert FILES, "no ServiceRequest, Task or Bundle files found"
    missing = sorted(set(REFERRAL_SHAPED) - set(FILES))
    assert not missing


@pytest.mark.parametrize("detect", [False, True], ids=["declared", "detected"])
@pytest.mark.parametrize("name", FILES)
def test_corpus_file_decodes_or_fails_with_an_adapter_error(name: str, detect: bool) -> None:
    """Referral-shaped files give valid events; the rest an AdapterError with a reason."""
    version = None if detect else declared_version(name)
    expected = REFERRAL_SHAPED.get(name)
    if expected is not None:
        assert tuple(decode(name, version)) == expected
        return
    with pytest.raises(AdapterError) as caught:
        decode(name, version)
    assert caught.value.reason


def test_decoding_the_corpus_is_idempotent() -> None:
    """Each referral-shaped file gives the same event ids every time."""
    for name in REFERRAL_SHAPED:
        adapter = FhirAdapter(AdapterContext(pseudonym_key=KEY, source=SENDER))
        raw = (CORPUS / name).read_bytes()
        assert [e.id for e in adapter.decode(raw)] == [e.id for e in adapter.decode(raw)]


def test_gravity_fulfilment_tasks_name_the_service_request_they_focus() -> None:
    """A Gravity Task's referral is the sender's ServiceRequest it focuses."""
    name = "R4/Task/Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample.json"
    adapter = FhirAdapter(AdapterContext(pseudonym_key=KEY, source=SENDER))
    (event,) = adapter.decode((CORPUS / name).read_bytes())
    assert event.data == {
        "referral_id": f"{SENDER}:SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample",
        "status": "completed",
    }
