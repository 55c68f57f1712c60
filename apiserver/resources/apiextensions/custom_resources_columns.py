"""Table columns of custom resources: Name, then the version's additionalPrinterColumns (or Age without any).

As upstream's CRD table convertor (registry/customresource/tableconvertor): the Name column first, described as
ObjectMeta describes `name`; one column per additionalPrinterColumn in order, described by its `description` or
`Custom resource definition column (in JSONPath format): <path>`; a version without columns gets the logical
default, one `Age` column of type date on `.metadata.creationTimestamp`. A cell is the first value the JSONPath
reaches, converted by the column's type (integer, number, boolean, string, date); a missing or mistyped value is
an empty (null) cell, a date that does not parse `<invalid>`; string columns print maps and lists as JSON.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import orjson

from apiserver.registry import columns
from apiserver.registry.schema import TypeSchemas
from apiserver.registry.spec import Column
from apiserver.resources.apiextensions.custom_resources_jsonpath import JSONPath, JSONPathError, first_value, parse

OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
INVALID_DATE: Final = "<invalid>"


@functools.cache
def metadata_description(field: str) -> str:
    """ObjectMeta's published description of a field (what upstream's swaggerMetadataDescriptions holds)."""
    definition = TypeSchemas.builtin().definitions.get(OBJECT_META) or {}
    prop = (definition.get("properties") or {}).get(field) or {}
    return str(prop.get("description") or "")


def _name_cell(obj: Mapping[str, Any], now: datetime) -> str:
    return columns.text(columns.dig(obj, "metadata", "name"))


def name_column() -> Column:
    return Column("Name", "string", "name", metadata_description("name"), value=_name_cell)


DEFAULT_PRINTER_COLUMNS: Final = (
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)


def printer_columns(version: Mapping[str, Any]) -> tuple[Column, ...]:
    """The Table columns of one CRD version (Name first). Raises JSONPathError for a path that does not parse."""
    declared = version.get("additionalPrinterColumns") or ()
    if not declared:
        default = dict(DEFAULT_PRINTER_COLUMNS[0], description=metadata_description("creationTimestamp"))
        declared = (default,)
    return (name_column(), *(_column(definition) for definition in declared))


def _column(definition: Mapping[str, Any]) -> Column:
    json_path = str(definition.get("jsonPath") or "")
    column_type = str(definition.get("type") or "string")
    description = str(definition.get("description") or "") or (
        f"Custom resource definition column (in JSONPath format): {json_path}")
    path = parse(json_path)
    return Column(str(definition.get("name") or ""), column_type, str(definition.get("format") or ""),
                  description, int(definition.get("priority") or 0), value=_cell(path, column_type))


def _cell(path: JSONPath, column_type: str) -> Any:
    def cell(obj: Mapping[str, Any], now: datetime) -> Any:
        found, value = first_value(path, obj)
        if not found:
            return None
        if column_type == "string":
            return printed(value)
        return typed_cell(column_type, value, now)
    return cell


def printed(value: Any) -> str | None:
    """A value as JSONPath's PrintResults writes it: text for scalars, compact JSON for maps and lists."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def typed_cell(column_type: str, value: Any, now: datetime) -> Any:
    """cellForJSONValue: the value as the column's type, None when it is not of that type."""
    if value is None:
        return None
    if column_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        moment = columns.parse_time(value)
        return INVALID_DATE if moment is None else columns.since(value, now)
    return None


def check_printer_columns(version: Mapping[str, Any]) -> str | None:
    """The parse error of the version's first unparsable column path, or None."""
    try:
        printer_columns(version)
    except JSONPathError as error:
        return str(error)
    return None
