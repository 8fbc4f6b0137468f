"""Data categories: what kind of survivor data a payload field holds.

Consent is granted per recipient and per category, so every payload field says in
the model itself which category it belongs to. Routing fields (ids, codes,
timestamps) have no category: a recipient needs them to handle the message at all.
Categorised fields are always optional, so a copy with a category withheld still
validates against the same contract.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["CATEGORY_KEY", "DataCategory", "categorised", "field_categories"]

#: JSON Schema keyword under which a property declares its category.
CATEGORY_KEY = "x-data-category"


class DataCategory(StrEnum):
    CONTACT = "contact"
    IDENTITY = "identity"
    NARRATIVE = "narrative"
    MEDICAL = "medical"
    LEGAL = "legal"
    SAFETY_RISK = "safety-risk"
    EVIDENCE = "evidence"


def categorised(category: DataCategory, description: str) -> Any:
    """A payload field holding data of ``category``: optional, defaulting to absent."""
    return Field(
        default=None,
        description=description,
        json_schema_extra={CATEGORY_KEY: category.value},
    )


@cache
def field_categories(model: type[BaseModel]) -> dict[str, DataCategory | None]:
    """Each field of ``model`` mapped to its data category (None for routing fields)."""
    found: dict[str, DataCategory | None] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        raw = extra.get(CATEGORY_KEY) if isinstance(extra, dict) else None
        found[name] = DataCategory(str(raw)) if raw is not None else None
    return found
