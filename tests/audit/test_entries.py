"""What an entry may say: actions, chain choice and the shape of details."""

from __future__ import annotations

import pytest

from hub.audit import AuditAction, chain_id_for, disclosure_details, validate_details
from hub.contracts import DataCategory


def test_actions_are_the_documented_vocabulary() -> None:
    """AuditAction holds exactly the actions the audit log records, by their stored values."""
    assert [action.value for action in AuditAction] == [
        "accepted",
        "refused",
        "routed",
        "blocked",
        "redacted",
        "delivered",
        "acknowledged",
        "retried",
        "dead-lettered",
        "replayed",
        "consent-granted",
        "consent-withdrawn",
        "consent-expired",
        "override",
        "erased",
        "agency-added",
        "token-rotated",
        "checkpoint",
        "statistics-exported",
    ]


def test_chain_choice() -> None:
    """A referral id picks the referral chain even when a consent is named too."""
    assert chain_id_for("r1", "c1") == "referral:r1"
    assert chain_id_for(None, "c1") == "consent:c1"
    assert chain_id_for(None, None) == "hub"


def test_details_accept_ids_codes_and_flat_lists() -> None:
    """Strings, integers, booleans, null and flat lists of them pass, as plain values."""
    details = validate_details(
        {
            "recipient": "court-b",
            "attempt": 3,
            "final": True,
            "reason": None,
            "categories": (DataCategory.CONTACT, "medical"),
        }
    )
    assert details == {
        "recipient": "court-b",
        "attempt": 3,
        "final": True,
        "reason": None,
        "categories": ["contact", "medical"],
    }
    assert type(details["categories"][0]) is str  # type: ignore[index]
    assert validate_details(None) == {}


@pytest.mark.parametrize(
    ("details", "fragment"),
    [
        ({"note": "x" * 201}, "at most 200"),
        ({"subject": {"name": "A"}}, "nested objects"),
        ({"list": [{"a": 1}]}, "nested objects"),
        ({"score": 0.5}, "float"),
        ({"": "x"}, "key"),
        ({"k" * 65: "x"}, "key"),
        ({"blob": b"bytes"}, "bytes"),
    ],
)
def test_details_refuse_what_could_hold_survivor_data(
    details: dict[str, object], fragment: str
) -> None:
    """Long text, nested objects, floats, bytes and odd keys are refused with a reason."""
    with pytest.raises(ValueError, match=fragment):
        validate_details(details)


def test_disclosure_details_shape() -> None:
    """disclosure_details sorts categories and adds purpose, override and notice when given."""
    assert disclosure_details(recipient="court-b", disclosed=["medical", "contact"]) == {
        "recipient": "court-b",
        "disclosed": ["contact", "medical"],
        "withheld": [],
    }
    full = disclosure_details(
        recipient="court-b",
        disclosed=[],
        withheld=["narrative"],
        purpose="justice",
        override="order-7",
        notice=True,
    )
    assert full["purpose"] == "justice"
    assert (full["override"], full["notice"], full["withheld"]) == ("order-7", True, ["narrative"])
