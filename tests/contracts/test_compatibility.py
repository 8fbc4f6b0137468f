"""Compatibility rules for schema changes, after Confluent Schema Registry's JSON Schema diff."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from hub.contracts.compatibility import (
    CompatibilityMode,
    CompatibilityReport,
    Difference,
    check,
    classify,
    differences,
)
from hub.errors import IncompatibleChange

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NULL: Schema = {"type": "null"}


def obj(
    properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = True
) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def field_schema(**keywords: Any) -> Schema:
    """A closed object with one required property ``value`` of the given schema."""
    return obj({"value": keywords}, ("value",))


def kinds(old: Schema, new: Schema) -> list[str]:
    return [difference.kind for difference in differences(old, new)]


def breaking(old: Schema, new: Schema) -> list[str]:
    return [d.kind for d in differences(old, new) if not d.compatible]


def level(old: Schema, new: Schema) -> CompatibilityMode:
    return classify(old, new).level


# --- content models ----------------------------------------------------------------------------


def test_optional_property_added_to_closed_object_is_backward_only() -> None:
    """An optional field added to a closed schema: new readers read old data, not the reverse."""
    old = obj({"a": STRING}, ("a",))
    new = obj({"a": STRING, "b": STRING}, ("a",))
    assert kinds(old, new) == ["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"]
    report = classify(old, new)
    assert report.level is CompatibilityMode.BACKWARD
    assert report.forward_breaks == (
        Difference("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/properties/b", False),
    )


def test_optional_property_added_to_open_object_breaks_backward() -> None:
    """An open schema cannot gain a field: old data may already carry it with another type."""
    old = obj({"a": STRING}, closed=False)
    new = obj({"a": STRING, "b": STRING}, closed=False)
    assert breaking(old, new) == ["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert level(old, new) is CompatibilityMode.FORWARD


def test_required_property_added_to_open_object_breaks_backward() -> None:
    """A required field added to an open schema is refused for BACKWARD."""
    old = obj({"a": STRING}, closed=False)
    new = obj({"a": STRING, "b": STRING}, ("b",), closed=False)
    assert breaking(old, new) == ["REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]


def test_property_with_empty_schema_added_to_open_object_is_compatible() -> None:
    """A new field that accepts anything cannot be contradicted by old data."""
    old = obj({"a": STRING}, closed=False)
    new = obj({"a": STRING, "b": {}}, closed=False)
    assert kinds(old, new) == ["PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert classify(old, new).backward


def test_required_property_added_to_closed_object_breaks_backward() -> None:
    """Old messages lack a new required field, so new readers reject them."""
    old = obj({"a": STRING}, ("a",))
    new = obj({"a": STRING, "b": STRING}, ("a", "b"))
    assert breaking(old, new) == ["REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"]
    assert level(old, new) is CompatibilityMode.NONE


def test_required_property_with_default_added_to_closed_object_is_backward() -> None:
    """A new required field with a default can be filled in for old messages."""
    old = obj({"a": STRING}, ("a",))
    new = obj({"a": STRING, "b": {"type": "string", "default": "x"}}, ("a", "b"))
    assert kinds(old, new) == ["REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"]
    assert classify(old, new).backward


def test_property_removed_from_closed_object_breaks_backward() -> None:
    """Dropping a field from a closed schema makes old messages carrying it invalid."""
    old = obj({"a": STRING, "b": STRING}, ("a",))
    new = obj({"a": STRING}, ("a",))
    assert breaking(old, new) == ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"]
    assert level(old, new) is CompatibilityMode.FORWARD


def test_property_removed_from_open_object_is_backward() -> None:
    """An open schema still accepts a field it no longer lists."""
    old = obj({"a": STRING, "b": STRING}, closed=False)
    new = obj({"a": STRING}, closed=False)
    assert kinds(old, new) == ["PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL"]
    assert classify(old, new).backward


def test_forbidden_property_removed_from_closed_object_is_compatible() -> None:
    """Removing a property declared ``false`` loses nothing old data could hold."""
    old = obj({"a": STRING, "b": False}, ("a",))
    new = obj({"a": STRING}, ("a",))
    assert kinds(old, new) == ["PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"]


def test_property_added_covered_by_additional_properties_schema() -> None:
    """A map-like schema may list a key its value schema already allowed, but not narrow it."""
    old = {"type": "object", "additionalProperties": {"type": "string"}}
    same = {**old, "properties": {"b": {"type": "string"}}}
    assert kinds(old, same) == [
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    ]
    assert classify(old, same).backward
    shorter = {**old, "properties": {"b": {"type": "string", "maxLength": 5}}}
    assert breaking(old, shorter) == [
        "MAX_LENGTH_ADDED",
        "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ]


def test_property_removed_covered_by_pattern_properties() -> None:
    """A field that moves into a matching patternProperties schema stays readable."""
    old = {
        "type": "object",
        "properties": {"x_a": STRING},
        "patternProperties": {"^x_": STRING},
        "additionalProperties": False,
    }
    new = {"type": "object", "patternProperties": {"^x_": STRING}, "additionalProperties": False}
    assert kinds(old, new) == ["PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"]
    narrower = {**new, "patternProperties": {"^x_": INTEGER}}
    assert "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" in breaking(old, narrower)


def test_closing_an_open_object_breaks_backward() -> None:
    """Forbidding extra fields rejects old messages that had some."""
    old = obj({"a": STRING}, closed=False)
    new = obj({"a": STRING})
    assert breaking(old, new) == ["ADDITIONAL_PROPERTIES_REMOVED"]
    assert kinds(new, old) == ["ADDITIONAL_PROPERTIES_ADDED"]
    assert classify(new, old).backward


def test_additional_properties_schema_narrowed_and_extended() -> None:
    """Constraining extra fields breaks BACKWARD; lifting the constraint does not."""
    free = {"type": "object"}
    typed = {"type": "object", "additionalProperties": {"type": "string"}}
    assert breaking(free, typed) == ["ADDITIONAL_PROPERTIES_NARROWED"]
    assert kinds(typed, free) == ["ADDITIONAL_PROPERTIES_EXTENDED"]
    assert classify(typed, free).backward


def test_existing_property_made_required() -> None:
    """Requiring a field old messages could omit breaks BACKWARD unless it has a default."""
    old = obj({"a": STRING})
    assert breaking(old, obj({"a": STRING}, ("a",))) == ["REQUIRED_ATTRIBUTE_ADDED"]
    with_default = obj({"a": {"type": "string", "default": ""}}, ("a",))
    assert "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" in kinds(old, with_default)
    assert classify(old, with_default).backward


def test_required_property_made_optional_is_backward_only() -> None:
    """New readers accept a missing field; old readers still insist on it."""
    old = obj({"a": STRING}, ("a",))
    new = obj({"a": STRING})
    assert kinds(old, new) == ["REQUIRED_ATTRIBUTE_REMOVED"]
    assert level(old, new) is CompatibilityMode.BACKWARD


def test_property_count_bounds() -> None:
    """Fewer allowed properties or more demanded ones break BACKWARD."""
    old = {"type": "object", "maxProperties": 5, "minProperties": 1}
    new = {"type": "object", "maxProperties": 3, "minProperties": 2}
    assert breaking(old, new) == ["MAX_PROPERTIES_DECREASED", "MIN_PROPERTIES_INCREASED"]
    assert kinds(new, old) == ["MAX_PROPERTIES_INCREASED", "MIN_PROPERTIES_DECREASED"]


def test_dependent_required_and_dependent_schemas() -> None:
    """More co-required fields break BACKWARD; fewer do not."""
    old = {"type": "object", "dependentRequired": {"a": ["b"]}}
    new = {"type": "object", "dependentRequired": {"a": ["b", "c"]}}
    assert breaking(old, new) == ["DEPENDENCY_ARRAY_EXTENDED"]
    assert kinds(new, old) == ["DEPENDENCY_ARRAY_NARROWED"]
    with_schema = {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}
    assert breaking({"type": "object"}, with_schema) == ["DEPENDENCY_SCHEMA_ADDED"]
    assert kinds(with_schema, {"type": "object"}) == ["DEPENDENCY_SCHEMA_REMOVED"]


# --- types -------------------------------------------------------------------------------------


def test_type_changed_breaks_both_ways() -> None:
    """A string field that becomes a number is unreadable in either direction."""
    old, new = field_schema(type="string"), field_schema(type="integer")
    assert breaking(old, new) == ["TYPE_CHANGED"]
    assert differences(old, new)[0].path == "#/properties/value"
    assert level(old, new) is CompatibilityMode.NONE


def test_integer_widened_to_number_is_backward_only() -> None:
    """Readers expecting any number read old integers; old readers choke on 1.5."""
    old, new = field_schema(type="integer"), field_schema(type="number")
    assert kinds(old, new) == ["TYPE_EXTENDED"]
    assert kinds(new, old) == ["TYPE_NARROWED"]
    assert level(old, new) is CompatibilityMode.BACKWARD


def test_field_loosened_to_any_value_is_backward() -> None:
    """A field that accepts anything reads whatever old data held; the reverse is a type change."""
    old, new = field_schema(type="string"), obj({"value": {}}, ("value",))
    assert differences(old, new) == []
    assert breaking(new, old) == ["TYPE_CHANGED"]


def test_type_list_extended_is_backward_only() -> None:
    """``type: [string, null]`` accepts every old string; old readers reject the new nulls."""
    old, new = field_schema(type=["string"]), field_schema(type=["string", "null"])
    assert kinds(old, new) == ["SUM_TYPE_EXTENDED"]
    assert level(old, new) is CompatibilityMode.BACKWARD


# --- strings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "kind", "compatible"),
    [
        ({"maxLength": 10}, {"maxLength": 5}, "MAX_LENGTH_DECREASED", False),
        ({"maxLength": 5}, {"maxLength": 10}, "MAX_LENGTH_INCREASED", True),
        ({}, {"maxLength": 10}, "MAX_LENGTH_ADDED", False),
        ({"maxLength": 10}, {}, "MAX_LENGTH_REMOVED", True),
    ],
)
def test_max_length(before: Schema, after: Schema, kind: str, compatible: bool) -> None:
    """Shorter limits reject old long values; longer limits do not."""
    found = differences(field_schema(type="string", **before), field_schema(type="string", **after))
    assert found == [Difference(kind, "#/properties/value/maxLength", compatible)]


@pytest.mark.parametrize(
    ("before", "after", "kind", "compatible"),
    [
        ({"minLength": 1}, {"minLength": 3}, "MIN_LENGTH_INCREASED", False),
        ({"minLength": 3}, {"minLength": 1}, "MIN_LENGTH_DECREASED", True),
        ({}, {"minLength": 1}, "MIN_LENGTH_ADDED", False),
        ({"minLength": 1}, {}, "MIN_LENGTH_REMOVED", True),
    ],
)
def test_min_length(before: Schema, after: Schema, kind: str, compatible: bool) -> None:
    """A higher minimum length rejects old short values."""
    found = differences(field_schema(type="string", **before), field_schema(type="string", **after))
    assert found == [Difference(kind, "#/properties/value/minLength", compatible)]


def test_pattern_added_changed_removed() -> None:
    """A new or different pattern may reject old values; dropping it cannot."""
    free, digits = field_schema(type="string"), field_schema(type="string", pattern="^[0-9]+$")
    letters = field_schema(type="string", pattern="^[a-z]+$")
    assert breaking(free, digits) == ["PATTERN_ADDED"]
    assert breaking(digits, letters) == ["PATTERN_CHANGED"]
    assert kinds(digits, free) == ["PATTERN_REMOVED"]
    assert classify(digits, free).backward


def test_format_is_an_annotation() -> None:
    """Adding ``format`` does not count as a change, as in draft 2020-12 and Confluent."""
    assert (
        differences(field_schema(type="string"), field_schema(type="string", format="date-time"))
        == []
    )


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "kind", "compatible"),
    [
        ({"maximum": 10}, {"maximum": 5}, "MAXIMUM_DECREASED", False),
        ({"maximum": 5}, {"maximum": 10}, "MAXIMUM_INCREASED", True),
        ({"minimum": 0}, {"minimum": 1}, "MINIMUM_INCREASED", False),
        ({"minimum": 1}, {"minimum": 0}, "MINIMUM_DECREASED", True),
        ({}, {"minimum": 0}, "MINIMUM_ADDED", False),
        ({"maximum": 9}, {}, "MAXIMUM_REMOVED", True),
        ({"exclusiveMaximum": 10}, {"exclusiveMaximum": 5}, "EXCLUSIVE_MAXIMUM_DECREASED", False),
        ({"exclusiveMinimum": 0}, {"exclusiveMinimum": -1}, "EXCLUSIVE_MINIMUM_DECREASED", True),
    ],
)
def test_numeric_bounds(before: Schema, after: Schema, kind: str, compatible: bool) -> None:
    """A tighter numeric range rejects old values; a looser one does not."""
    (found,) = differences(
        field_schema(type="integer", **before), field_schema(type="integer", **after)
    )
    assert (found.kind, found.compatible) == (kind, compatible)


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (None, 5, "MULTIPLE_OF_ADDED"),
        (5, None, "MULTIPLE_OF_REMOVED"),
        (5, 10, "MULTIPLE_OF_EXPANDED"),
        (0.1, 0.05, "MULTIPLE_OF_REDUCED"),
        (4, 6, "MULTIPLE_OF_CHANGED"),
    ],
)
def test_multiple_of(before: float | None, after: float | None, kind: str) -> None:
    """Only a divisor of the old step keeps every old value valid."""
    old = {} if before is None else {"multipleOf": before}
    new = {} if after is None else {"multipleOf": after}
    (found,) = differences(field_schema(type="number", **old), field_schema(type="number", **new))
    assert found.kind == kind
    assert found.compatible is (kind in {"MULTIPLE_OF_REMOVED", "MULTIPLE_OF_REDUCED"})


# --- enum and const ----------------------------------------------------------------------------


def test_enum_extended_is_backward_only() -> None:
    """New readers know every old value; old readers do not know the new one."""
    old = field_schema(type="string", enum=["low", "high"])
    new = field_schema(type="string", enum=["low", "high", "severe"])
    assert kinds(old, new) == ["ENUM_ARRAY_EXTENDED"]
    assert kinds(new, old) == ["ENUM_ARRAY_NARROWED"]
    assert level(old, new) is CompatibilityMode.BACKWARD
    assert classify(old, new).forward_breaks[0].path == "#/properties/value/enum"


def test_enum_changed_breaks_both_ways() -> None:
    """Swapping one value for another leaves each side a value the other rejects."""
    old = field_schema(type="string", enum=["low", "high"])
    new = field_schema(type="string", enum=["low", "severe"])
    assert breaking(old, new) == ["ENUM_ARRAY_CHANGED"]
    assert level(old, new) is CompatibilityMode.NONE


def test_enum_added_to_free_string_narrows() -> None:
    """Restricting a free string to a list rejects old values outside it."""
    old = field_schema(type="string")
    new = field_schema(type="string", enum=["a", "b"])
    assert breaking(old, new) == ["ENUM_ARRAY_NARROWED"]
    assert kinds(new, old) == ["ENUM_ARRAY_EXTENDED"]


def test_const_changed_and_const_widened_to_enum() -> None:
    """Another const breaks both ways; a Literal gaining a value is extended."""
    old = field_schema(type="string", const="referral.requested")
    assert breaking(old, field_schema(type="string", const="referral.created")) == [
        "ENUM_ARRAY_CHANGED"
    ]
    widened = field_schema(type="string", enum=["referral.requested", "referral.updated"])
    assert kinds(old, widened) == ["ENUM_ARRAY_EXTENDED"]
    assert level(old, widened) is CompatibilityMode.BACKWARD


# --- nullable, anyOf, oneOf, allOf, not --------------------------------------------------------


def test_required_field_made_nullable_and_optional_is_backward_only() -> None:
    """``str`` to ``str | None = None``: new readers accept old values, old readers reject None."""
    old = obj({"note": STRING}, ("note",))
    new = obj({"note": {"anyOf": [STRING, NULL], "default": None}})
    assert kinds(old, new) == ["REQUIRED_ATTRIBUTE_REMOVED", "SUM_TYPE_EXTENDED"]
    assert level(old, new) is CompatibilityMode.BACKWARD


def test_nullable_field_made_required_breaks_backward() -> None:
    """``str | None = None`` to ``str``: old messages with null or no value are rejected."""
    old = obj({"note": {"anyOf": [STRING, NULL], "default": None}})
    new = obj({"note": STRING}, ("note",))
    assert sorted(breaking(old, new)) == ["REQUIRED_ATTRIBUTE_ADDED", "TYPE_CHANGED"]
    assert level(old, new) is CompatibilityMode.FORWARD


def test_union_member_removed_and_added() -> None:
    """Dropping a member of a union rejects old values of that member; adding one does not."""
    two = field_schema(anyOf=[STRING, INTEGER])
    three = field_schema(anyOf=[STRING, INTEGER, NULL])
    assert kinds(two, three) == ["SUM_TYPE_EXTENDED"]
    assert breaking(three, two) == ["SUM_TYPE_NARROWED"]


def test_constraint_tightened_inside_a_union_names_the_keyword() -> None:
    """A shorter maxLength inside ``Optional[...]`` is reported at the member's keyword."""
    old = field_schema(anyOf=[{"type": "string", "maxLength": 10}, NULL])
    new = field_schema(anyOf=[{"type": "string", "maxLength": 5}, NULL])
    reasons = classify(old, new).reasons(CompatibilityMode.BACKWARD)
    assert reasons == [
        "MAX_LENGTH_DECREASED at #/properties/value/anyOf/0/maxLength",
        "COMBINED_TYPE_SUBSCHEMAS_CHANGED at #/properties/value",
    ]


def test_combination_criterion_changes() -> None:
    """oneOf to anyOf accepts more; anyOf to oneOf may reject values matching two members."""
    one_of = field_schema(oneOf=[STRING, INTEGER])
    any_of = field_schema(anyOf=[STRING, INTEGER])
    assert kinds(one_of, any_of) == ["COMBINED_TYPE_EXTENDED"]
    assert breaking(any_of, one_of) == ["COMBINED_TYPE_CHANGED"]
    all_of = field_schema(allOf=[{"minLength": 1}, {"maxLength": 9}])
    assert kinds(all_of, field_schema(allOf=[{"minLength": 1}])) == ["PRODUCT_TYPE_NARROWED"]


def test_not_schema_narrowed_and_extended() -> None:
    """Excluding fewer values accepts more of the old data; excluding more does not."""
    excludes_strings = field_schema(**{"not": STRING})
    excludes_short = field_schema(**{"not": {"type": "string", "maxLength": 3}})
    assert kinds(excludes_strings, excludes_short) == ["NOT_TYPE_NARROWED"]
    assert breaking(excludes_short, excludes_strings) == ["NOT_TYPE_EXTENDED"]


# --- $ref and nesting --------------------------------------------------------------------------


def _with_address(street: Schema) -> Schema:
    address = obj({"street": street}, ("street",))
    return {
        **obj({"home": {"$ref": "#/$defs/Address", "description": "Where they live"}}, ("home",)),
        "$defs": {"Address": address},
    }


def test_change_inside_a_referenced_definition_is_found_at_its_use() -> None:
    """A tighter field in a nested model is reported at the path readers see."""
    old = _with_address({"type": "string", "maxLength": 200})
    new = _with_address({"type": "string", "maxLength": 100})
    assert differences(old, new) == [
        Difference("MAX_LENGTH_DECREASED", "#/properties/home/properties/street/maxLength", False)
    ]


def test_ref_siblings_are_part_of_the_schema() -> None:
    """A description next to a ``$ref``, as pydantic writes it, is compared like any other."""
    old = _with_address(STRING)
    new = copy.deepcopy(old)
    new["properties"]["home"]["description"] = "Their address"
    assert kinds(old, new) == ["DESCRIPTION_CHANGED"]


def test_recursive_definitions_terminate() -> None:
    """A self-referencing model is compared without looping and equals itself."""
    node = obj({"label": STRING, "children": {"type": "array", "items": {"$ref": "#/$defs/N"}}})
    schema: Schema = {"$ref": "#/$defs/N", "$defs": {"N": node}}
    assert differences(schema, copy.deepcopy(schema)) == []
    changed = copy.deepcopy(schema)
    changed["$defs"]["N"]["properties"]["label"] = {"type": "string", "maxLength": 3}
    assert breaking(schema, changed) == ["MAX_LENGTH_ADDED"]


def test_remote_or_dangling_ref_is_refused() -> None:
    """Only ``$ref`` s into the same document can be compared."""
    remote = {"$ref": "https://example.org/schema.json"}
    with pytest.raises(ValueError, match="local"):
        differences(remote, remote)
    with pytest.raises(ValueError, match="does not resolve"):
        differences({"$ref": "#/$defs/Missing"}, STRING)


# --- arrays ------------------------------------------------------------------------------------


def test_array_item_type_changed() -> None:
    """A list of strings that becomes a list of integers cannot be read by either side."""
    old = field_schema(type="array", items=STRING)
    new = field_schema(type="array", items=INTEGER)
    assert differences(old, new) == [Difference("TYPE_CHANGED", "#/properties/value/items", False)]


def test_array_items_constrained_or_freed() -> None:
    """Constraining items that were free breaks BACKWARD; freeing them does not."""
    free, strings = field_schema(type="array"), field_schema(type="array", items=STRING)
    assert breaking(free, strings) == ["SCHEMA_ADDED"]
    assert kinds(strings, free) == ["SCHEMA_REMOVED"]
    assert classify(strings, free).backward


def test_array_length_bounds_and_uniqueness() -> None:
    """Fewer allowed items, more demanded items or newly unique items break BACKWARD."""
    old = field_schema(type="array", items=STRING, maxItems=10, minItems=0)
    new = field_schema(type="array", items=STRING, maxItems=5, minItems=1, uniqueItems=True)
    assert breaking(old, new) == [
        "MAX_ITEMS_DECREASED",
        "MIN_ITEMS_INCREASED",
        "UNIQUE_ITEMS_ADDED",
    ]
    assert kinds(new, old) == ["MAX_ITEMS_INCREASED", "MIN_ITEMS_DECREASED", "UNIQUE_ITEMS_REMOVED"]
    assert classify(new, old).backward


def test_array_of_referenced_objects_gains_optional_field() -> None:
    """A closed item model may gain an optional field, as any closed object may."""
    item_v1, item_v2 = (
        obj({"code": STRING}, ("code",)),
        obj({"code": STRING, "n": INTEGER}, ("code",)),
    )
    old = {**field_schema(type="array", items={"$ref": "#/$defs/I"}), "$defs": {"I": item_v1}}
    new = {**field_schema(type="array", items={"$ref": "#/$defs/I"}), "$defs": {"I": item_v2}}
    assert differences(old, new) == [
        Difference(
            "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            "#/properties/value/items/properties/n",
            True,
        )
    ]
    assert level(old, new) is CompatibilityMode.BACKWARD


def test_tuple_positions_in_closed_and_open_content_models() -> None:
    """A closed tuple may gain a position but not lose one; an open tuple the reverse."""
    closed_one = {"type": "array", "prefixItems": [STRING], "items": False}
    closed_two = {"type": "array", "prefixItems": [STRING, INTEGER], "items": False}
    assert kinds(closed_one, closed_two) == ["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL"]
    assert breaking(closed_two, closed_one) == ["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"]
    open_one, open_two = (
        {"type": "array", "prefixItems": [STRING]},
        {
            "type": "array",
            "prefixItems": [STRING, INTEGER],
        },
    )
    assert breaking(open_one, open_two) == ["ITEM_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert kinds(open_two, open_one) == ["ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL"]


def test_unknown_keywords_are_ignored() -> None:
    """Extension keywords such as ``x-compatibility`` neither change nor split a schema."""
    plain = field_schema(anyOf=[STRING, NULL])
    tagged = field_schema(anyOf=[STRING, NULL], **{"x-note": "kept for v1 readers"})
    assert differences(plain, tagged) == []


# --- annotations and the report ----------------------------------------------------------------


def test_annotations_are_reported_but_compatible() -> None:
    """Retitling, redescribing or changing a default never breaks a reader."""
    old = {**field_schema(type="string"), "title": "V1", "description": "a", "$id": "urn:v1"}
    new = {**field_schema(type="string"), "title": "V2", "description": "b", "$id": "urn:v2"}
    assert kinds(old, new) == ["ID_CHANGED", "TITLE_CHANGED", "DESCRIPTION_CHANGED"]
    assert level(old, new) is CompatibilityMode.FULL


def test_report_levels_and_reasons_per_mode() -> None:
    """Each mode lists only the breaks that matter to it, FULL naming the direction."""
    old = obj({"a": STRING}, ("a",))
    new = obj({"a": STRING, "b": STRING}, ("a",))
    report = classify(old, new)
    assert report.satisfies(CompatibilityMode.BACKWARD)
    assert report.satisfies(CompatibilityMode.NONE)
    assert not report.satisfies(CompatibilityMode.FORWARD)
    assert not report.satisfies(CompatibilityMode.FULL)
    assert report.reasons(CompatibilityMode.BACKWARD) == []
    assert report.reasons(CompatibilityMode.FORWARD) == [
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL at #/properties/b"
    ]
    assert report.reasons(CompatibilityMode.FULL) == [
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL at #/properties/b (forward)"
    ]
    assert report.reasons(CompatibilityMode.NONE) == []


def test_check_raises_with_event_type_and_reasons() -> None:
    """A change that breaks the declared mode is refused with every reason."""
    old = obj({"a": STRING}, ("a",))
    new = obj({"a": INTEGER, "b": STRING}, ("a", "b"))
    with pytest.raises(IncompatibleChange) as caught:
        check(old, new, CompatibilityMode.BACKWARD, event_type="referral.requested")
    assert caught.value.event_type == "referral.requested"
    assert caught.value.reasons == (
        "TYPE_CHANGED at #/properties/a",
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL at #/properties/b",
    )
    check(old, new, CompatibilityMode.NONE, event_type="referral.requested")
    check(old, obj({"a": STRING, "c": STRING}, ("a",)), CompatibilityMode.BACKWARD, event_type="x")


# --- real pydantic models ----------------------------------------------------------------------


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=20)


class ReferralV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral_id: str = Field(min_length=1, max_length=128)
    priority: Priority
    contact: Contact | None = None


class ReferralV2Optional(ReferralV1):
    notes: str | None = Field(default=None, max_length=500)


class ReferralV2Required(ReferralV1):
    agency_id: str


def test_pydantic_optional_field_with_default_is_backward_not_forward() -> None:
    """A v2 model adding ``notes: str | None = None`` reads v1 data; v1 readers reject notes."""
    report = classify(ReferralV1.model_json_schema(), ReferralV2Optional.model_json_schema())
    assert report.level is CompatibilityMode.BACKWARD
    assert report.reasons(CompatibilityMode.FORWARD) == [
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL at #/properties/notes"
    ]


def test_pydantic_required_field_breaks_backward() -> None:
    """A v2 model adding a required field cannot read v1 messages."""
    report = classify(ReferralV1.model_json_schema(), ReferralV2Required.model_json_schema())
    assert not report.backward
    assert report.reasons(CompatibilityMode.BACKWARD) == [
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL at #/properties/agency_id"
    ]


def test_pydantic_nested_model_field_tightened() -> None:
    """Tightening a nested model's field breaks BACKWARD at the field's path."""

    class ContactV2(BaseModel):
        model_config = ConfigDict(extra="forbid", title="Contact")

        channel: str = Field(max_length=10)

    class ReferralV2(ReferralV1):
        contact: ContactV2 | None = None  # type: ignore[assignment]

    report = classify(ReferralV1.model_json_schema(), ReferralV2.model_json_schema())
    assert report.reasons(CompatibilityMode.BACKWARD) == [
        "MAX_LENGTH_DECREASED at #/properties/contact/anyOf/0/properties/channel/maxLength",
        "COMBINED_TYPE_SUBSCHEMAS_CHANGED at #/properties/contact",
    ]


def test_pydantic_enum_member_added_is_backward_only() -> None:
    """A new enum member is readable by v2 consumers only; v1 consumers reject it."""

    class PriorityV2(StrEnum):
        ROUTINE = "routine"
        URGENT = "urgent"
        EMERGENCY = "emergency"

    class ReferralV2(ReferralV1):
        priority: PriorityV2  # type: ignore[assignment]

    report = classify(ReferralV1.model_json_schema(), ReferralV2.model_json_schema())
    assert report.level is CompatibilityMode.BACKWARD
    assert report.reasons(CompatibilityMode.FORWARD) == [
        "ENUM_ARRAY_NARROWED at #/properties/priority/enum"
    ]


# --- properties over generated schemas ---------------------------------------------------------

_names = st.sampled_from(["a", "b", "c", "d"])
_leaves = st.one_of(
    st.builds(
        lambda bounds: {"type": "string", **bounds},
        st.fixed_dictionaries(
            {}, optional={"maxLength": st.integers(5, 9), "minLength": st.integers(0, 4)}
        ),
    ),
    st.builds(
        lambda bounds: {"type": "integer", **bounds},
        st.fixed_dictionaries(
            {}, optional={"maximum": st.integers(5, 9), "minimum": st.integers(0, 4)}
        ),
    ),
    st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, unique=True).map(
        lambda values: {"type": "string", "enum": values}
    ),
    st.just({"type": "boolean"}),
)


def _objects(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    return st.builds(
        lambda properties, required, closed: obj(
            properties, tuple(name for name in required if name in properties), closed=closed
        ),
        st.dictionaries(_names, children, max_size=3),
        st.lists(_names, unique=True, max_size=3),
        st.booleans(),
    )


_schemas = st.recursive(
    _leaves,
    lambda children: st.one_of(
        _objects(children),
        children.map(lambda items: {"type": "array", "items": items}),
        children.map(lambda inner: {"anyOf": [inner, NULL]}),
    ),
    max_leaves=8,
)


def _relaxed(schema: Any) -> Any:
    """The schema with every length, range, enum and required-ness constraint dropped."""
    if isinstance(schema, list):
        return [_relaxed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    loose = {"maxLength", "minLength", "maximum", "minimum", "enum"}
    relaxed = {key: _relaxed(value) for key, value in schema.items() if key not in loose}
    if "required" in relaxed:
        relaxed["required"] = []
    return relaxed


@given(_schemas)
@settings(max_examples=150)
def test_every_schema_is_fully_compatible_with_itself(schema: Schema) -> None:
    """Re-registering an unchanged schema never trips a check."""
    Draft202012Validator.check_schema(schema)
    assert differences(schema, copy.deepcopy(schema)) == []
    assert level(schema, schema) is CompatibilityMode.FULL


@given(_schemas, _schemas)
@settings(max_examples=150)
def test_swapping_the_schemas_swaps_backward_and_forward(old: Schema, new: Schema) -> None:
    """FORWARD from old to new is BACKWARD from new to old."""
    there, back = classify(old, new), classify(new, old)
    assert there == CompatibilityReport(
        backward=back.forward,
        forward=back.backward,
        backward_breaks=back.forward_breaks,
        forward_breaks=back.backward_breaks,
    )


@given(_schemas)
@settings(max_examples=150)
def test_relaxing_constraints_is_always_backward_compatible(schema: Schema) -> None:
    """Dropping limits, enums and required fields never stops new readers reading old data."""
    assert classify(schema, _relaxed(schema)).backward
