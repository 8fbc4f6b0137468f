"""One table answers every hub error, on ``/v1`` and ``/fhir`` alike."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import hub
from hub.adapters import UnreadableInput
from hub.adapters.court.folders import FileTooLarge, FolderError
from hub.adapters.social_db import AgencyDatabaseError
from hub.api.answers import ANSWERS, answer_for, refusal_code
from hub.api.fhir import _translate
from hub.api.problems import _from_hub_error
from hub.audit import SubjectErased
from hub.errors import (
    AccessDenied,
    AdapterError,
    BrokerError,
    ConfigError,
    Conflict,
    ContractError,
    DeliveryError,
    HubError,
    IllegalTransition,
    IncompatibleChange,
    InvalidEnvelope,
    InvalidPayload,
    StoreError,
    UnknownEventType,
    UnknownVersion,
)

#: One real instance of each public hub error, built as the hub builds it.
SAMPLES: list[HubError] = [
    HubError("something"),
    ContractError("does not fit"),
    UnknownEventType("referral.teleported"),
    UnknownVersion("referral.requested", "9"),
    InvalidPayload([("data.priority", "not a priority")]),
    InvalidEnvelope([("phone", "not an extension the hub defines")]),
    IllegalTransition("completed", "accepted"),
    IncompatibleChange("referral.requested", ["field removed"]),
    AccessDenied("not yours"),
    Conflict("seen with other content"),
    SubjectErased("sub_" + "a" * 32),
    AdapterError("no status", path="Task.status"),
    UnreadableInput("not JSON"),
    StoreError("down"),
    BrokerError("down"),
    DeliveryError("refused"),
    AgencyDatabaseError("entraide: database unavailable"),
    FolderError("cannot list /srv/court"),
    FileTooLarge("/srv/court/big.xml", 1024),
    ConfigError("hub.key", "missing"),
]


def _public_hub_errors() -> list[type[HubError]]:
    """Every public HubError subclass the hub defines, in any of its modules."""
    for module in pkgutil.walk_packages(hub.__path__, "hub."):
        importlib.import_module(module.name)
    found: list[type[HubError]] = []
    pending: list[type[HubError]] = [HubError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(
        (c for c in found if c.__module__.startswith("hub.") and not c.__name__.startswith("_")),
        key=lambda c: c.__qualname__,
    )


@pytest.mark.parametrize("error_class", _public_hub_errors(), ids=lambda c: c.__qualname__)
def test_every_hub_error_has_its_own_answer(error_class: type[HubError]) -> None:
    """Each public hub error class is listed in the answers table, not left to a default."""
    assert error_class in ANSWERS


def test_a_subclass_answers_as_its_nearest_listed_ancestor() -> None:
    """An error class the table does not list answers as the closest class it does."""

    class _StoreTimeout(StoreError):
        pass

    assert answer_for(_StoreTimeout("slow")) == ANSWERS[StoreError]


def test_an_erased_subject_is_a_refusal_answered_gone() -> None:
    """An event about an erased subject is refused (counted, audited) with 410 Gone."""
    answer = answer_for(SubjectErased("sub_" + "a" * 32))
    assert (answer.status, answer.fhir_code, answer.refusal) == (410, "deleted", "erased")
    assert "sub_" not in answer.detail_for(SubjectErased("sub_" + "a" * 32))


@pytest.mark.parametrize(
    "error", [StoreError("down"), BrokerError("down"), ConfigError("hub.key", "missing")]
)
def test_the_hubs_own_trouble_is_not_a_refusal(error: HubError) -> None:
    """The hub's own failures are not counted or audited as the sender's refusals."""
    assert refusal_code(error) is None
    assert answer_for(error).status >= 500


def test_the_sender_at_fault_is_a_refusal() -> None:
    """An event of an unknown type is refused under its own reason code."""
    assert refusal_code(UnknownEventType("referral.teleported")) == "unknown-type-or-version"


def test_every_public_error_has_a_sample() -> None:
    """The cross-surface check below covers every public hub error class."""
    assert {type(sample) for sample in SAMPLES} == set(_public_hub_errors())


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_v1_and_fhir_answer_an_error_with_the_same_status(error: HubError) -> None:
    """/v1 (problem+json) and /fhir (OperationOutcome) give the same status for one error."""
    assert (
        _from_hub_error(error).status_code == _translate(error).status == answer_for(error).status
    )
