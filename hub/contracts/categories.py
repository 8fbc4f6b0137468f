"""Data categories: what kind of survivor data a payload field holds.

Consent is granted per recipient and per category, so every payload field says in
the model itself which category it belongs to. Routing fields (ids, codes,
timestamps) have no category: a recipient needs them to handle the message at all.
Categorised fields are always optional, so a copy with a category withheld still
validates against the same contract.

Free text never travels outside the categories: whatever a person typed may name
her, so every free-text field sits under a categorised top-level field (which
redaction keeps or drops whole), or is one of the few marked
:func:`uncategorised_text` on purpose (written by the hub, or a legal ground every
recipient must read). Free text is any ``str`` marked :attr:`TextKind.FREE` (the
``ShortText`` and ``LongText`` types), and any other ``str`` that is not an enum,
a literal, an :attr:`TextKind.IDENTIFIER` or constrained by a pattern of its own:
a string of unknown kind counts as free text. :func:`free_text_outside_categories`
finds the exceptions; ``hub contracts check`` refuses them.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from enum import Enum, StrEnum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

__all__ = [
    "CATEGORY_KEY",
    "UNCATEGORISED_KEY",
    "DataCategory",
    "TextKind",
    "categorised",
    "field_categories",
    "free_text_outside_categories",
    "uncategorised_text",
]

#: JSON Schema keyword under which a property declares its category.
CATEGORY_KEY = "x-data-category"
#: JSON Schema keyword of free text outside every category on purpose; its value says why.
UNCATEGORISED_KEY = "x-uncategorised-text"
#: The pattern that only forbids blank text: it makes no string a code.
NOT_BLANK_PATTERN = r"[^\s\x1c-\x1f]"


class TextKind(StrEnum):
    """What a string type holds; ``Annotated`` metadata, read by the free-text check."""

    #: Whatever a person typed: it may name her.
    FREE = "free"
    #: An id or a name a system assigned (an event id, a case number); never prose.
    IDENTIFIER = "identifier"


class DataCategory(StrEnum):
    CONTACT = "contact"
    IDENTITY = "identity"
    NARRATIVE = "narrative"
    MEDICAL = "medical"
    LEGAL = "legal"
    SAFETY_RISK = "safety-risk"
    EVIDENCE = "evidence"
    #: The incident classification (forms of violence, perpetrator, her age band,
    #: first point of contact): coded, yet about her, so consent governs it too.
    INCIDENT = "incident"


def categorised(category: DataCategory, description: str) -> Any:
    """A payload field holding data of ``category``: optional, defaulting to absent."""
    return Field(
        default=None,
        description=description,
        json_schema_extra={CATEGORY_KEY: category.value},
    )


def uncategorised_text(description: str, why: str) -> Any:
    """A free-text field that no category covers, on purpose: every recipient reads it.

    Only for text that is not about her (``why`` says so in the schema): text
    the hub writes itself, or the legal ground a recipient must see.
    """
    return Field(description=description, json_schema_extra={UNCATEGORISED_KEY: why})


@cache
def field_categories(model: type[BaseModel]) -> dict[str, DataCategory | None]:
    """Each field of ``model`` mapped to its data category (None for routing fields)."""
    found: dict[str, DataCategory | None] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        raw = extra.get(CATEGORY_KEY) if isinstance(extra, dict) else None
        found[name] = DataCategory(str(raw)) if raw is not None else None
    return found


def free_text_outside_categories(model: type[BaseModel]) -> list[str]:
    """Dotted paths of the free text in ``model`` that no data category covers.

    A categorised top-level field covers all it holds, since redaction keeps or
    drops it whole; nested parts are walked, their list items under ``[]``.
    """
    found: list[str] = []
    for name, info in model.model_fields.items():
        if field_categories(model)[name] is None and not _uncategorised_on_purpose(info):
            found.extend(_free_text(info.annotation, info.metadata, name))
    return found


def _uncategorised_on_purpose(info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and UNCATEGORISED_KEY in extra


def _free_text(annotation: Any, metadata: Sequence[object], path: str) -> list[str]:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        return _free_text(base, [*metadata, *more], path)
    if origin is Union or origin is types.UnionType:
        return [found for arg in get_args(annotation) for found in _free_text(arg, metadata, path)]
    if origin is Literal:
        return []
    if origin in (tuple, list, set, frozenset):
        items = [arg for arg in get_args(annotation) if arg is not Ellipsis]
        return [found for arg in items for found in _free_text(arg, [], f"{path}[]")]
    if origin is not None or not isinstance(annotation, type):
        return []
    if issubclass(annotation, Enum):
        return []
    if issubclass(annotation, BaseModel):
        return [
            found
            for name, info in annotation.model_fields.items()
            if not _uncategorised_on_purpose(info)
            for found in _free_text(info.annotation, info.metadata, f"{path}.{name}")
        ]
    if issubclass(annotation, str) and _is_free_text(metadata):
        return [path]
    return []


def _is_free_text(metadata: Sequence[object]) -> bool:
    kinds = {item for item in metadata if isinstance(item, TextKind)}
    if kinds:
        return TextKind.FREE in kinds
    patterns = {getattr(item, "pattern", None) for item in metadata} - {None, NOT_BLANK_PATTERN}
    return not patterns
