"""Schema evolution rules: is a new version of an event type's JSON Schema compatible?

The rules follow Confluent Schema Registry's JSON Schema diff
(``confluentinc/schema-registry``, ``json-schema-provider/.../json/diff``: ``SchemaDiff``,
``ObjectSchemaDiff``, ``ArraySchemaDiff``, ``CombinedSchemaDiff`` and ``Difference.Type``) and
the "Schema Evolution and Compatibility" documentation:

* the two documents are walked side by side, local ``$ref`` s resolved into ``$defs``, and
  every change is recorded as a :class:`Difference` named after Confluent's
  ``Difference.Type`` (``TYPE_NARROWED``, ``MAX_LENGTH_DECREASED``, ``ENUM_ARRAY_NARROWED``,
  ``PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL`` ...);
* a difference is compatible when Confluent lists its kind in ``COMPATIBLE_CHANGES``, and that
  verdict is for BACKWARD: consumers on the new schema read data written with the old one;
* FORWARD is the BACKWARD check with the schemas swapped, as Confluent does it; FULL is both.

Whether a property may come or go depends on the content model. Under BACKWARD a closed object
(``additionalProperties: false``, as pydantic writes for ``extra="forbid"``) may gain optional
properties, since no old message can carry them, but may not lose any. An open object is the
other way round: old data may already hold a value of any type under a new name, so every added
property breaks BACKWARD. The kinds are Confluent 8.x's:
``OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`` and its two ``REQUIRED_...`` siblings replace
the ``PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`` of 7.x.

Confluent compares everit schema objects, where a schema of one JSON type and an ``enum`` is two
objects; here a schema is a set of keywords, so a few cases read more exactly than there:

* ``enum`` and ``const`` constrain the typed schema they sit in. Adding one narrows the values
  (``ENUM_ARRAY_NARROWED``), dropping one extends them (``ENUM_ARRAY_EXTENDED``), and a ``const``
  that becomes an ``enum`` holding it (``Literal["a"]`` to ``Literal["a", "b"]``) is extended;
* ``prefixItems`` plays the role of draft-7 tuple ``items`` and, next to it, ``items`` the role
  of ``additionalItems``;
* when a union's members cannot all be matched, the differences between unmatched members of the
  same kind are reported too, so the reason names the keyword (``MAX_LENGTH_DECREASED`` inside an
  ``anyOf``) and not only ``COMBINED_TYPE_SUBSCHEMAS_CHANGED``.

``format`` is an annotation in draft 2020-12 and Confluent does not compare it either. Keywords
pydantic does not write (``contains``, ``unevaluated*``, ``if``/``then``/``else``,
``propertyNames``) are not examined.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from hub.errors import IncompatibleChange

__all__ = [
    "COMPATIBLE_CHANGES",
    "CompatibilityMode",
    "CompatibilityReport",
    "Difference",
    "check",
    "classify",
    "differences",
]

#: Confluent's ``SchemaDiff.COMPATIBLE_CHANGES``, limited to the kinds this module reports.
COMPATIBLE_CHANGES: frozenset[str] = frozenset(
    {
        "ID_CHANGED",
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "DEFAULT_CHANGED",
        "SCHEMA_REMOVED",
        "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_REMOVED",
        "MIN_LENGTH_DECREASED",
        "MIN_LENGTH_REMOVED",
        "PATTERN_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_REMOVED",
        "MINIMUM_DECREASED",
        "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED",
        "DEPENDENCY_SCHEMA_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_REMOVED",
        "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_REMOVED",
        "MIN_ITEMS_DECREASED",
        "MIN_ITEMS_REMOVED",
        "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_EXTENDED",
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED",
        "COMBINED_TYPE_EXTENDED",
        "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_NARROWED",
    }
)


class CompatibilityMode(StrEnum):
    """What an event type declares its next version must keep."""

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"
    FULL = "FULL"
    NONE = "NONE"


@dataclass(frozen=True)
class Difference:
    """One change between two schemas, named after Confluent's ``Difference.Type``."""

    kind: str
    path: str
    compatible: bool

    def __str__(self) -> str:
        return f"{self.kind} at {self.path}"


@dataclass(frozen=True)
class CompatibilityReport:
    """Both directions of one change; the ``*_breaks`` say why a direction fails."""

    backward: bool
    forward: bool
    backward_breaks: tuple[Difference, ...]
    forward_breaks: tuple[Difference, ...]

    @property
    def level(self) -> CompatibilityMode:
        """The strongest mode the change keeps."""
        if self.backward and self.forward:
            return CompatibilityMode.FULL
        if self.backward:
            return CompatibilityMode.BACKWARD
        if self.forward:
            return CompatibilityMode.FORWARD
        return CompatibilityMode.NONE

    def satisfies(self, mode: CompatibilityMode) -> bool:
        return not self._breaks(mode)

    def reasons(self, mode: CompatibilityMode) -> list[str]:
        """``"KIND at PATH"`` for every difference that breaks ``mode``.

        Forward breaks come from the swapped comparison, so their kinds read from the new
        schema to the old one (a property added to a closed v1 shows as removed). Under FULL
        each reason ends with the direction it breaks, ``(backward)`` or ``(forward)``.
        """
        return [
            f"{difference} ({direction})" if mode is CompatibilityMode.FULL else str(difference)
            for direction, difference in self._breaks(mode)
        ]

    def _breaks(self, mode: CompatibilityMode) -> list[tuple[str, Difference]]:
        found: list[tuple[str, Difference]] = []
        if mode in (CompatibilityMode.BACKWARD, CompatibilityMode.FULL):
            found += [("backward", difference) for difference in self.backward_breaks]
        if mode in (CompatibilityMode.FORWARD, CompatibilityMode.FULL):
            found += [("forward", difference) for difference in self.forward_breaks]
        return found


def classify(old: Mapping[str, Any], new: Mapping[str, Any]) -> CompatibilityReport:
    """How the change from ``old`` to ``new`` stands in both directions."""
    backward_breaks = _breaking(differences(old, new))
    forward_breaks = _breaking(differences(new, old))
    return CompatibilityReport(
        backward=not backward_breaks,
        forward=not forward_breaks,
        backward_breaks=backward_breaks,
        forward_breaks=forward_breaks,
    )


def check(
    old: Mapping[str, Any], new: Mapping[str, Any], mode: CompatibilityMode, *, event_type: str
) -> None:
    """Raise IncompatibleChange, with every reason, when ``new`` breaks ``mode``."""
    if mode is CompatibilityMode.NONE:
        return
    report = classify(old, new)
    if not report.satisfies(mode):
        raise IncompatibleChange(event_type, report.reasons(mode))


def differences(original: Mapping[str, Any], update: Mapping[str, Any]) -> list[Difference]:
    """Every difference from ``original`` to ``update``, judged for BACKWARD.

    Raises ValueError for a ``$ref`` that is not local to its document or does not resolve.
    """
    walk = _Walk(original_root=original, update_root=update)
    _compare(walk, original, update)
    return walk.found


def _breaking(found: Sequence[Difference]) -> tuple[Difference, ...]:
    return tuple(difference for difference in found if not difference.compatible)


# --- the walk -------------------------------------------------------------------------------

Schema = Mapping[str, Any] | bool

_COMBINATORS = ("allOf", "anyOf", "oneOf")
#: Keywords that say which JSON type a schema without ``type`` describes.
_IMPLIED_TYPE = {
    **dict.fromkeys(("minLength", "maxLength", "pattern"), "string"),
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), "number"
    ),
    **dict.fromkeys(
        (
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
        ),
        "object",
    ),
    **dict.fromkeys(("items", "prefixItems", "minItems", "maxItems", "uniqueItems"), "array"),
}
#: Keywords that constrain one JSON type; anything else at that level is an annotation to us.
_TYPED_KEYWORDS = frozenset({"type", "enum", "const", *_IMPLIED_TYPE})
_STRUCTURAL = (*_COMBINATORS, "not")
_FALSE = "false"
_EMPTY = "empty"
_COMBINED = "combined"
_NOT = "not"
_UNTYPED = "untyped"


@dataclass
class _Walk:
    """Where the comparison stands: both documents, the current path and what was found."""

    original_root: Mapping[str, Any]
    update_root: Mapping[str, Any]
    path: list[str] = field(default_factory=list)
    found: list[Difference] = field(default_factory=list)
    # Node pairs on the call stack; meeting one again means a recursive $ref, which Confluent
    # treats as compatible rather than walking forever.
    in_progress: set[tuple[int, int]] = field(default_factory=set)

    @contextmanager
    def at(self, *tokens: str) -> Iterator[None]:
        self.path.extend(tokens)
        try:
            yield
        finally:
            del self.path[len(self.path) - len(tokens) :]

    def add(self, kind: str, *tokens: str) -> None:
        pointer = "#/" + "/".join(_escape(token) for token in (*self.path, *tokens))
        self.found.append(Difference(kind, pointer, kind in COMPATIBLE_CHANGES))

    def branch(self) -> _Walk:
        """A trial comparison at the same place, kept only if the caller wants it."""
        return _Walk(self.original_root, self.update_root, list(self.path), [], self.in_progress)

    def reversed_branch(self) -> _Walk:
        return _Walk(self.update_root, self.original_root, list(self.path), [], self.in_progress)

    @property
    def compatible(self) -> bool:
        return all(difference.compatible for difference in self.found)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _compare(walk: _Walk, original: Schema | None, update: Schema | None) -> None:
    if original is None and update is None:
        return
    if original is None:
        walk.add("SCHEMA_ADDED")
        return
    if update is None:
        walk.add("SCHEMA_REMOVED")
        return
    pair = (_identity(walk.original_root, original), _identity(walk.update_root, update))
    if pair in walk.in_progress:
        return
    walk.in_progress.add(pair)
    try:
        _compare_normalized(
            walk, _normalize(walk.original_root, original), _normalize(walk.update_root, update)
        )
    finally:
        walk.in_progress.discard(pair)


def _identity(root: Mapping[str, Any], node: Schema) -> int:
    """The schema node a ``$ref`` chain ends at, so every way into a definition is one node."""
    seen: set[int] = set()
    while isinstance(node, Mapping) and "$ref" in node and id(node) not in seen:
        seen.add(id(node))
        node = _pointer(root, node["$ref"])
    return id(node)


def _compare_normalized(walk: _Walk, original: Schema, update: Schema) -> None:
    original_kind, update_kind = _kind(original), _kind(update)
    if _union_on_one_side_fits(walk, original, update):
        return
    if original_kind != update_kind:
        # Nothing was valid before, or anything is valid now: no reader can be surprised.
        if original_kind != _FALSE and update_kind != _EMPTY:
            walk.add("TYPE_CHANGED")
        return
    if original is False or update is False:
        return
    _compare_annotations(walk, original, update)
    _COMPARERS.get(original_kind, _compare_enum)(walk, original, update)


def _union_on_one_side_fits(walk: _Walk, original: Schema, update: Schema) -> bool:
    """Confluent's special cases for a union compared with a plain schema."""
    original_is_union, update_is_union = _kind(original) == _COMBINED, _kind(update) == _COMBINED
    if update_is_union and not original_is_union:
        return _fits_a_union_member(walk, original, _mapping(update))
    if original_is_union and not update_is_union:
        return _fits_a_singleton_union(walk, _mapping(original), update)
    return False


def _mapping(schema: Schema) -> Mapping[str, Any]:
    if isinstance(schema, bool):
        raise TypeError("a boolean schema has no keywords to compare")
    return schema


# --- normalising: $ref, type lists, mixed keywords --------------------------------------------


def _normalize(root: Mapping[str, Any], node: Schema) -> Schema:
    """The schema with ``$ref`` resolved, ``true`` as ``{}`` and unions made explicit."""
    resolved = _resolve_refs(root, node)
    if isinstance(resolved, bool):
        return {} if resolved else False
    return _split_keywords(resolved)


def _resolve_refs(root: Mapping[str, Any], node: Schema) -> Schema:
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"$ref {ref!r} refers to itself")
        seen.add(ref)
        target = _pointer(root, ref)
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if isinstance(target, bool):
            node = target if not siblings or target is False else siblings
        else:
            # Keywords beside a $ref (pydantic puts description and default there) refine it.
            node = {**target, **siblings}
    return node


def _pointer(root: Mapping[str, Any], ref: object) -> Schema:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise ValueError(f"only local $ref are supported, not {ref!r}")
    node: Any = root
    for token in filter(None, ref[1:].split("/")):
        key = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"$ref {ref!r} does not resolve") from None
    if not isinstance(node, Mapping | bool):
        raise ValueError(f"$ref {ref!r} is not a schema")
    return node


def _split_keywords(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """One kind of schema per level, as everit builds it for Confluent.

    ``type: [a, b]`` becomes an ``anyOf`` of one schema per type, and a schema that mixes a
    combinator with other validation keywords becomes the ``allOf`` of its parts.
    """
    plain = {key: value for key, value in schema.items() if key in _TYPED_KEYWORDS}
    parts: list[Mapping[str, Any]] = [{key: schema[key]} for key in _STRUCTURAL if key in schema]
    others = {
        key: value
        for key, value in schema.items()
        if key not in _TYPED_KEYWORDS and key not in _STRUCTURAL
    }
    types = plain.get("type")
    if isinstance(types, list) and len(types) == 1:
        plain["type"] = types[0]
    elif isinstance(types, list):
        rest = {key: value for key, value in plain.items() if key != "type"}
        parts.append({"anyOf": [{**rest, "type": name} for name in types]})
        plain = {}
    if plain:
        parts.append(plain)
    if len(parts) <= 1:
        return {**others, **(parts[0] if parts else {})}
    return {**others, "allOf": parts}


def _kind(schema: Schema) -> str:
    """Which comparison applies: the JSON type, or one of the structural kinds."""
    if schema is False:
        return _FALSE
    schema = _mapping(schema)
    if any(key in schema for key in _COMBINATORS):
        return _COMBINED
    if "not" in schema:
        return _NOT
    named = _json_type_of(schema)
    if named == "integer":
        return "number"
    if named is not None:
        return named
    return _UNTYPED if "enum" in schema or "const" in schema else _EMPTY


def _json_type_of(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    for keyword, implied in _IMPLIED_TYPE.items():
        if keyword in schema:
            return implied
    values = _allowed_values(schema)
    if values:
        names = {_json_type_of_value(value) for value in values}
        if names == {"integer", "number"}:
            return "number"
        if len(names) == 1:
            return names.pop()
    return None


def _json_type_of_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# --- annotations, enum, const -----------------------------------------------------------------

_ANNOTATION_CHANGES = {
    "$id": "ID_CHANGED",
    "title": "TITLE_CHANGED",
    "description": "DESCRIPTION_CHANGED",
    "default": "DEFAULT_CHANGED",
}
_ABSENT = object()


def _compare_annotations(walk: _Walk, original: Schema, update: Schema) -> None:
    original, update = _mapping(original), _mapping(update)
    for keyword, kind in _ANNOTATION_CHANGES.items():
        if original.get(keyword, _ABSENT) != update.get(keyword, _ABSENT):
            walk.add(kind)


def _compare_enum(walk: _Walk, original: Schema, update: Schema) -> None:
    original, update = _mapping(original), _mapping(update)
    before, after = _allowed_values(original), _allowed_values(update)
    if before == after:
        return
    keyword = (
        "const" if "const" in update or ("enum" not in update and "const" in original) else "enum"
    )
    if after is None:
        kind = "ENUM_ARRAY_EXTENDED"
    elif before is None:
        kind = "ENUM_ARRAY_NARROWED"
    elif after > before:
        kind = "ENUM_ARRAY_EXTENDED"
    elif after < before:
        kind = "ENUM_ARRAY_NARROWED"
    else:
        # Confluent's ConstSchemaDiff calls a changed const this too.
        kind = "ENUM_ARRAY_CHANGED"
    walk.add(kind, keyword)


def _allowed_values(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The values ``enum`` or ``const`` allow, each as canonical JSON; None when unlimited."""
    if "const" in schema:
        return frozenset({_canonical(schema["const"])})
    values = schema.get("enum")
    if isinstance(values, list):
        return frozenset(_canonical(value) for value in values)
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- strings and numbers ----------------------------------------------------------------------

_BOUNDS = {
    "maxLength": "MAX_LENGTH",
    "minLength": "MIN_LENGTH",
    "maximum": "MAXIMUM",
    "minimum": "MINIMUM",
    "exclusiveMaximum": "EXCLUSIVE_MAXIMUM",
    "exclusiveMinimum": "EXCLUSIVE_MINIMUM",
    "maxItems": "MAX_ITEMS",
    "minItems": "MIN_ITEMS",
    "maxProperties": "MAX_PROPERTIES",
    "minProperties": "MIN_PROPERTIES",
}


def _compare_bounds(walk: _Walk, original: Schema, update: Schema, *keywords: str) -> None:
    original, update = _mapping(original), _mapping(update)
    for keyword in keywords:
        before, after = _number(original.get(keyword)), _number(update.get(keyword))
        if before == after:
            continue
        if before is None:
            change = "ADDED"
        elif after is None:
            change = "REMOVED"
        else:
            change = "INCREASED" if before < after else "DECREASED"
        walk.add(f"{_BOUNDS[keyword]}_{change}", keyword)


def _number(value: Any) -> int | float | None:
    # Draft-4 style boolean exclusiveMaximum is not a bound.
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _compare_string(walk: _Walk, original: Schema, update: Schema) -> None:
    _compare_bounds(walk, original, update, "maxLength", "minLength")
    before, after = _mapping(original).get("pattern"), _mapping(update).get("pattern")
    if before is None and after is not None:
        walk.add("PATTERN_ADDED", "pattern")
    elif before is not None and after is None:
        walk.add("PATTERN_REMOVED", "pattern")
    elif before != after:
        walk.add("PATTERN_CHANGED", "pattern")
    _compare_enum(walk, original, update)


def _compare_number(walk: _Walk, original: Schema, update: Schema) -> None:
    _compare_bounds(
        walk, original, update, "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"
    )
    _compare_multiple_of(walk, _mapping(original), _mapping(update))
    was_integer = _json_type_of(_mapping(original)) == "integer"
    is_integer = _json_type_of(_mapping(update)) == "integer"
    if was_integer and not is_integer:
        walk.add("TYPE_EXTENDED")
    elif is_integer and not was_integer:
        walk.add("TYPE_NARROWED")
    _compare_enum(walk, original, update)


def _compare_multiple_of(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]
) -> None:
    before, after = _decimal(original.get("multipleOf")), _decimal(update.get("multipleOf"))
    if before == after:
        return
    if before is None:
        kind = "MULTIPLE_OF_ADDED"
    elif after is None:
        kind = "MULTIPLE_OF_REMOVED"
    elif after % before == 0:
        kind = "MULTIPLE_OF_EXPANDED"
    elif before % after == 0:
        kind = "MULTIPLE_OF_REDUCED"
    else:
        kind = "MULTIPLE_OF_CHANGED"
    walk.add(kind, "multipleOf")


def _decimal(value: Any) -> Decimal | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    try:
        # Through str so that 0.1 is one tenth, not its binary approximation.
        return Decimal(str(number))
    except InvalidOperation:
        return None


# --- objects ----------------------------------------------------------------------------------


def _compare_object(walk: _Walk, original: Schema, update: Schema) -> None:
    original, update = _mapping(original), _mapping(update)
    _compare_required(walk, original, update)
    _compare_properties(walk, original, update)
    _compare_dependencies(walk, original, update)
    _compare_additional_properties(walk, original, update)
    _compare_bounds(walk, original, update, "maxProperties", "minProperties")
    _compare_enum(walk, original, update)


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Schema]:
    found = schema.get("properties")
    return found if isinstance(found, Mapping) else {}


def _required(schema: Mapping[str, Any]) -> frozenset[str]:
    found = schema.get("required")
    return frozenset(found) if isinstance(found, list) else frozenset()


def _has_default(root: Mapping[str, Any], node: Schema) -> bool:
    resolved = _resolve_refs(root, node)
    return isinstance(resolved, Mapping) and "default" in resolved


def _compare_required(walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]) -> None:
    before, after = _required(original), _required(update)
    update_properties = _properties(update)
    for name in _properties(original):
        if name not in update_properties or (name in before) == (name in after):
            continue
        if name in before:
            walk.add("REQUIRED_ATTRIBUTE_REMOVED", "required", name)
        elif _has_default(walk.update_root, update_properties[name]):
            walk.add("REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "required", name)
        else:
            walk.add("REQUIRED_ATTRIBUTE_ADDED", "required", name)


def _compare_properties(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]
) -> None:
    before, after = _properties(original), _properties(update)
    for name in [*before, *(name for name in after if name not in before)]:
        with walk.at("properties", name):
            if name not in after:
                _property_removed(walk, before[name], update, name)
            elif name not in before:
                _property_added(walk, original, update, name)
            else:
                _compare(walk, before[name], after[name])


def _property_removed(walk: _Walk, removed: Schema, update: Mapping[str, Any], name: str) -> None:
    # Only the update's content model matters: it must still accept what old data holds.
    if _is_open_object(update):
        walk.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
        return
    covering = _schema_for_unlisted(update, name)
    if covering is not None:
        covered = _try(walk, removed, covering)
        walk.add(
            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if covered
            else "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    elif _normalize(walk.original_root, removed) is False:
        walk.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
    else:
        walk.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")


def _property_added(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any], name: str
) -> None:
    # Only the original's content model matters: old data may already use the new name.
    added = _properties(update)[name]
    required = name in _required(update)
    with_default = _has_default(walk.update_root, added)
    if _is_open_object(original):
        if _kind(_normalize(walk.update_root, added)) == _EMPTY:
            walk.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
        elif required and with_default:
            walk.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL")
        elif required:
            walk.add("REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
        else:
            walk.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
        return
    covering = _schema_for_unlisted(original, name)
    if covering is not None:
        covered = _try(walk, covering, added)
        walk.add(
            "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if covered
            else "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    if required and with_default:
        walk.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL")
    elif required:
        walk.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
    else:
        walk.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")


def _try(walk: _Walk, original: Schema, update: Schema) -> bool:
    """Compare on a branch, keep what it found, and say whether it was compatible."""
    branch = walk.branch()
    _compare(branch, original, update)
    walk.found.extend(branch.found)
    return branch.compatible


def _permits_additional(schema: Mapping[str, Any], keyword: str) -> bool:
    return schema.get(keyword, True) is not False


def _additional_schema(schema: Mapping[str, Any], keyword: str) -> Mapping[str, Any] | None:
    """The schema unlisted members must match; None when they may be anything (or nothing)."""
    found = schema.get(keyword)
    return found if isinstance(found, Mapping) and found else None


def _is_open_object(schema: Mapping[str, Any]) -> bool:
    return (
        not schema.get("patternProperties")
        and _permits_additional(schema, "additionalProperties")
        and _additional_schema(schema, "additionalProperties") is None
    )


def _schema_for_unlisted(schema: Mapping[str, Any], name: str) -> Schema | None:
    """The schema a partially open object applies to an unlisted property ``name``."""
    patterns = schema.get("patternProperties")
    if isinstance(patterns, Mapping):
        for pattern, subschema in patterns.items():
            try:
                if re.search(pattern, name):
                    return subschema  # type: ignore[no-any-return]
            except re.error:
                continue
    return _additional_schema(schema, "additionalProperties")


def _compare_additional_properties(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]
) -> None:
    _compare_additional(walk, original, update, "additionalProperties", "ADDITIONAL_PROPERTIES")


def _compare_additional(
    walk: _Walk,
    original: Mapping[str, Any],
    update: Mapping[str, Any],
    keyword: str,
    prefix: str,
) -> None:
    with walk.at(keyword):
        permitted_before = _permits_additional(original, keyword)
        permitted_after = _permits_additional(update, keyword)
        before = _additional_schema(original, keyword)
        after = _additional_schema(update, keyword)
        if permitted_before != permitted_after:
            walk.add(f"{prefix}_ADDED" if permitted_after else f"{prefix}_REMOVED")
        elif before is None and after is not None:
            walk.add(f"{prefix}_NARROWED")
        elif before is not None and after is None:
            walk.add(f"{prefix}_EXTENDED")
        elif before is not None and after is not None:
            _compare(walk, before, after)


def _compare_dependencies(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]
) -> None:
    _compare_dependent_required(walk, original, update)
    before = _mapping_at(original, "dependentSchemas")
    after = _mapping_at(update, "dependentSchemas")
    for name in [*before, *(name for name in after if name not in before)]:
        with walk.at("dependentSchemas", name):
            if name not in after:
                walk.add("DEPENDENCY_SCHEMA_REMOVED")
            elif name not in before:
                walk.add("DEPENDENCY_SCHEMA_ADDED")
            else:
                _compare(walk, before[name], after[name])


def _compare_dependent_required(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]
) -> None:
    before = _mapping_at(original, "dependentRequired")
    after = _mapping_at(update, "dependentRequired")
    for name in [*before, *(name for name in after if name not in before)]:
        if name not in after:
            kind = "DEPENDENCY_ARRAY_REMOVED"
        elif name not in before:
            kind = "DEPENDENCY_ARRAY_ADDED"
        else:
            old, new = frozenset(before[name]), frozenset(after[name])
            if old == new:
                continue
            if new >= old:
                kind = "DEPENDENCY_ARRAY_EXTENDED"
            elif old >= new:
                kind = "DEPENDENCY_ARRAY_NARROWED"
            else:
                kind = "DEPENDENCY_ARRAY_CHANGED"
        walk.add(kind, "dependentRequired", name)


def _mapping_at(schema: Mapping[str, Any], keyword: str) -> Mapping[str, Any]:
    found = schema.get(keyword)
    return found if isinstance(found, Mapping) else {}


# --- arrays -----------------------------------------------------------------------------------


def _compare_array(walk: _Walk, original: Schema, update: Schema) -> None:
    original, update = _mapping(original), _mapping(update)
    with walk.at("items"):
        _compare(walk, _all_items(original), _all_items(update))
    _compare_prefix_items(walk, original, update)
    _compare_additional(
        walk, _rest_items(original), _rest_items(update), "items", "ADDITIONAL_ITEMS"
    )
    _compare_bounds(walk, original, update, "maxItems", "minItems")
    was_unique, is_unique = original.get("uniqueItems") is True, update.get("uniqueItems") is True
    if was_unique != is_unique:
        walk.add("UNIQUE_ITEMS_ADDED" if is_unique else "UNIQUE_ITEMS_REMOVED", "uniqueItems")
    _compare_enum(walk, original, update)


def _all_items(schema: Mapping[str, Any]) -> Schema | None:
    """The schema every item must match, when items are not positional."""
    return None if "prefixItems" in schema else schema.get("items")


def _rest_items(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The items after the positional ones, shaped like an ``items`` keyword to compare."""
    return {"items": schema["items"]} if "prefixItems" in schema and "items" in schema else {}


def _prefix_items(schema: Mapping[str, Any]) -> Sequence[Schema]:
    found = schema.get("prefixItems")
    return found if isinstance(found, list) else []


def _compare_prefix_items(
    walk: _Walk, original: Mapping[str, Any], update: Mapping[str, Any]
) -> None:
    before, after = _prefix_items(original), _prefix_items(update)
    for index in range(max(len(before), len(after))):
        with walk.at("prefixItems", str(index)):
            if index >= len(after):
                _item_removed(walk, before[index], _rest_items(update))
            elif index >= len(before):
                _item_added(walk, _rest_items(original), after[index])
            else:
                _compare(walk, before[index], after[index])


def _item_removed(walk: _Walk, removed: Schema, update_rest: Mapping[str, Any]) -> None:
    covering = _additional_schema(update_rest, "items")
    if _permits_additional(update_rest, "items") and covering is None:
        walk.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
    elif covering is not None:
        covered = _try(walk, removed, covering)
        walk.add(
            "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if covered
            else "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    elif _normalize(walk.original_root, removed) is False:
        walk.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
    else:
        walk.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")


def _item_added(walk: _Walk, original_rest: Mapping[str, Any], added: Schema) -> None:
    covering = _additional_schema(original_rest, "items")
    if _permits_additional(original_rest, "items") and covering is None:
        if _kind(_normalize(walk.update_root, added)) == _EMPTY:
            walk.add("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
        else:
            walk.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL")
    elif covering is not None:
        covered = _try(walk, covering, added)
        walk.add(
            "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            if covered
            else "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        )
    else:
        walk.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")


# --- unions and negation ----------------------------------------------------------------------


def _criterion(schema: Mapping[str, Any]) -> str:
    return next(key for key in _COMBINATORS if key in schema)


def _members(schema: Mapping[str, Any]) -> list[Schema]:
    found = schema[_criterion(schema)]
    return list(found) if isinstance(found, list) else []


def _fits_a_union_member(walk: _Walk, original: Schema, update: Mapping[str, Any]) -> bool:
    """A plain schema that became a union it is a member of (``str`` to ``str | None``)."""
    members = _members(update)
    if len(members) == 1:
        return _keep_if_compatible(walk, original, members[0])
    if _criterion(update) == "allOf":
        return False
    for member in members:
        if _keep_if_compatible(walk, original, member):
            walk.add("SUM_TYPE_EXTENDED")
            return True
    return False


def _fits_a_singleton_union(walk: _Walk, original: Mapping[str, Any], update: Schema) -> bool:
    members = _members(original)
    return len(members) == 1 and _keep_if_compatible(walk, members[0], update)


def _keep_if_compatible(walk: _Walk, original: Schema, update: Schema) -> bool:
    branch = walk.branch()
    _compare(branch, original, update)
    if branch.compatible:
        walk.found.extend(branch.found)
    return branch.compatible


def _criterion_change(original: Mapping[str, Any], update: Mapping[str, Any]) -> str | None:
    before, after = _criterion(original), _criterion(update)
    singleton_before = len(_members(original)) == 1
    singleton_after = len(_members(update)) == 1
    if before == after:
        return None
    if after == "anyOf":
        return "COMBINED_TYPE_EXTENDED"
    if after == "oneOf" and singleton_before:
        return "COMBINED_TYPE_EXTENDED"
    if after == "allOf" and singleton_before and singleton_after:
        return "COMBINED_TYPE_EXTENDED"
    return "COMBINED_TYPE_CHANGED"


def _compare_combined(walk: _Walk, original: Schema, update: Schema) -> None:
    original, update = _mapping(original), _mapping(update)
    change = _criterion_change(original, update)
    if change is not None:
        walk.add(change)
    if change == "COMBINED_TYPE_CHANGED":
        return
    before, after = _distinct(_members(original)), _distinct(_members(update))
    product = _criterion(update) == "allOf"
    if len(before) < len(after):
        walk.add("PRODUCT_TYPE_EXTENDED" if product else "SUM_TYPE_EXTENDED")
    elif len(before) > len(after):
        walk.add("PRODUCT_TYPE_NARROWED" if product else "SUM_TYPE_NARROWED")
    criterion = _criterion(original)
    compatible: dict[tuple[int, int], list[Difference]] = {}
    for i, member in enumerate(before):
        with walk.at(criterion, str(i)):
            for j, candidate in enumerate(after):
                branch = walk.branch()
                _compare(branch, member, candidate)
                if branch.compatible:
                    compatible[(i, j)] = branch.found
    matching = _maximum_matching(len(before), compatible)
    for pair in matching:
        walk.found.extend(compatible[pair])
    if len(matching) < min(len(before), len(after)):
        _explain_unmatched(walk, criterion, before, after, matching)
        walk.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")


def _distinct(members: Sequence[Schema]) -> list[Schema]:
    """The members without repeats, as Confluent collapses them into a set."""
    seen: dict[str, Schema] = {}
    for member in members:
        seen.setdefault(_canonical(member), member)
    return list(seen.values())


def _maximum_matching(left: int, edges: Mapping[tuple[int, int], object]) -> list[tuple[int, int]]:
    """Pair each old member with a distinct new member it is compatible with, as many as can be.

    Augmenting paths (Kuhn's algorithm); unions are small.
    """
    neighbours: dict[int, list[int]] = {i: [] for i in range(left)}
    for i, j in edges:
        neighbours[i].append(j)
    owner: dict[int, int] = {}

    def augment(i: int, visited: set[int]) -> bool:
        for j in neighbours[i]:
            if j in visited:
                continue
            visited.add(j)
            if j not in owner or augment(owner[j], visited):
                owner[j] = i
                return True
        return False

    for i in range(left):
        augment(i, set())
    return sorted((i, j) for j, i in owner.items())


def _explain_unmatched(
    walk: _Walk,
    criterion: str,
    before: Sequence[Schema],
    after: Sequence[Schema],
    matching: Sequence[tuple[int, int]],
) -> None:
    """Report why an old member found no partner, against a free new member of its kind."""
    free = [j for j in range(len(after)) if j not in {j for _, j in matching}]
    matched = {i for i, _ in matching}
    for i, member in enumerate(before):
        if i in matched:
            continue
        kind = _kind(_normalize(walk.original_root, member))
        partner = next(
            (j for j in free if _kind(_normalize(walk.update_root, after[j])) == kind), None
        )
        if partner is None:
            continue
        free.remove(partner)
        with walk.at(criterion, str(i)):
            _compare(walk, member, after[partner])


def _compare_not(walk: _Walk, original: Schema, update: Schema) -> None:
    original, update = _mapping(original), _mapping(update)
    with walk.at("not"):
        # What must not match is compared the other way round: excluding less accepts more.
        branch = walk.reversed_branch()
        _compare(branch, update["not"], original["not"])
        walk.add("NOT_TYPE_NARROWED" if branch.compatible else "NOT_TYPE_EXTENDED")


def _compare_nothing_more(walk: _Walk, original: Schema, update: Schema) -> None:
    """Empty schemas: only annotations, already compared."""


_COMPARERS: dict[str, Callable[[_Walk, Schema, Schema], None]] = {
    "string": _compare_string,
    "number": _compare_number,
    "object": _compare_object,
    "array": _compare_array,
    _COMBINED: _compare_combined,
    _NOT: _compare_not,
    _EMPTY: _compare_nothing_more,
}
