"""Every free-text field of every contract sits under a data category."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, StringConstraints

from hub.contracts import DataCategory, default_registry
from hub.contracts.categories import (
    categorised,
    free_text_outside_categories,
    uncategorised_text,
)
from hub.contracts.checks import category_problems
from hub.contracts.events._base import AgencyId, Identifier, LongText, Part, ShortText
from hub.contracts.registry import Contract


@pytest.mark.parametrize(
    "contract", list(default_registry()), ids=lambda c: f"{c.event_type}-v{c.version}"
)
def test_no_contract_carries_free_text_outside_the_categories(contract: Contract) -> None:
    """Every free-text field, nested parts included, of every type and version has a category."""
    assert free_text_outside_categories(contract.model) == []


def test_the_repository_passes_the_category_check() -> None:
    """`hub contracts check` finds no uncategorised free text in the registered contracts."""
    assert category_problems(default_registry()) == []


class _Colour(StrEnum):
    RED = "red"


class _Inner(Part):
    comment: ShortText | None = None
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None


class _Sample(BaseModel):
    event_id: Identifier
    agency: AgencyId
    colour: _Colour
    kind: Literal["a", "b"] = "a"
    plain: str | None = None
    bounded: Annotated[str, StringConstraints(max_length=10)] | None = None
    text: LongText | None = None
    parts: tuple[_Inner, ...] = ()
    inner: _Inner | None = None
    covered: _Inner | None = categorised(DataCategory.NARRATIVE, "Covered whole.")
    noted: ShortText | None = categorised(DataCategory.NARRATIVE, "Covered.")
    hub_written: ShortText = uncategorised_text("By the hub.", "written by the hub")


def test_free_text_is_found_wherever_no_category_covers_it() -> None:
    """Plain or marked text is found at top level, in parts and in lists; codes are not."""
    assert free_text_outside_categories(_Sample) == [
        "plain",
        "bounded",
        "text",
        "parts[].comment",
        "inner.comment",
    ]
