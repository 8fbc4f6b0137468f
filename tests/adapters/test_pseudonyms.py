"""Subject ids: keyed, deterministic, and nothing of the identifier shows."""

from __future__ import annotations

import re

import pytest

from hub.adapters import subject_id
from hub.contracts.events.referral import ReferralRequestedV1


def test_the_same_identifier_and_key_give_the_same_subject() -> None:
    """Agencies sharing an identifier system meet the same pseudonym."""
    assert subject_id(b"k", "urn:oid:1.2", "123") == subject_id(b"k", "urn:oid:1.2", "123")


def test_key_system_and_value_all_change_the_subject() -> None:
    """Another key, system or value is another subject."""
    base = subject_id(b"k", "urn:a", "1")
    assert (
        len(
            {
                base,
                subject_id(b"k2", "urn:a", "1"),
                subject_id(b"k", "urn:b", "1"),
                subject_id(b"k", "urn:a", "2"),
            }
        )
        == 4
    )


def test_the_subject_id_fits_the_contract_and_hides_the_value() -> None:
    """sub_ + 32 hex digits, as the contracts' SubjectId pattern wants."""
    found = subject_id(b"k", "urn:a", "MRN-123456")
    assert re.fullmatch(r"sub_[0-9a-f]{32}", found)
    assert "123456" not in found
    pattern = ReferralRequestedV1.model_json_schema()["properties"]["subject_id"]["pattern"]
    assert re.fullmatch(pattern, found)


def test_an_empty_key_is_refused() -> None:
    """Without a key the hash would be a plain, reversible-by-dictionary digest."""
    with pytest.raises(ValueError, match="key"):
        subject_id(b"", "urn:a", "1")
