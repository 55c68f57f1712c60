"""An object as YAML, keys in the order the server sent them, multi-line strings as literal blocks.

`metadata.managedFields` is split off: it is long, rarely wanted, and kubectl hides it too (its
`--show-managed-fields` shows it); the page shows it collapsed, on request.
"""
from __future__ import annotations

import copy
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _string)


def to_yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=4096)


def split_managed_fields(obj: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """(the object without metadata.managedFields, the managedFields) — the input is left unchanged."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj, []
    trimmed = copy.copy(obj)
    trimmed["metadata"] = {key: value for key, value in metadata.items() if key != "managedFields"}
    managed = metadata.get("managedFields")
    return trimmed, managed if isinstance(managed, list) else []
