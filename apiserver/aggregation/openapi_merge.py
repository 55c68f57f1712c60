"""Swagger 2.0 documents filtered and merged as kube-openapi's aggregator does it for kube-aggregator (v1.32).

- `filter_spec_by_paths`: keep the paths under some prefixes; a definition goes only when the dropped paths were
  what used it (a definition nothing referred to before stays);
- `merge_specs`: copy a source's paths and definitions into a destination (MergeSpecsIgnorePathConflict-
  RenamingDefinitionsAndParameters): paths the destination has win, a definition (or top-level parameter) of the
  same name that differs other than in `x-kubernetes-group-version-kind` is renamed `<name>_v2`, `_v3`, … in the
  source (an equal renamed one is reused), and equal ones get the union of their group-version-kinds.

Documents are plain JSON dicts; inputs are never mutated (outputs may share unchanged parts with them).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

DEFINITIONS_REF = "#/definitions/"
PARAMETERS_REF = "#/parameters/"
GVK_KEY = "x-kubernetes-group-version-kind"

JSONDict = dict[str, Any]


def references(value: Any, prefix: str) -> set[str]:
    """The names every `$ref` under `value` points to below `prefix` (`#/definitions/`, `#/parameters/`)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            reference = item.get("$ref")
            if isinstance(reference, str) and reference.startswith(prefix):
                found.add(reference[len(prefix):])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _used_definitions(spec: Mapping[str, Any]) -> set[str]:
    # kube-openapi walks every reference of the document: paths, definitions, parameters and responses.
    return references({key: spec.get(key) for key in ("paths", "definitions", "parameters", "responses")},
                      DEFINITIONS_REF)


def filter_spec_by_paths(spec: Mapping[str, Any], keep_prefixes: Iterable[str]) -> JSONDict:
    """FilterSpecByPathsWithoutSideEffects: the paths starting with one of `keep_prefixes`, and the definitions
    still used or never used."""
    if spec.get("paths") is None:
        return dict(spec)
    prefixes = tuple(keep_prefixes)
    initially_used = _used_definitions(spec)
    filtered: JSONDict = dict(spec)
    filtered["paths"] = {path: item for path, item in (spec.get("paths") or {}).items() if path.startswith(prefixes)}
    filtered["definitions"] = dict(spec.get("definitions") or {})
    used = _used_definitions(filtered)
    filtered["definitions"] = {name: value for name, value in (spec.get("definitions") or {}).items()
                               if name in used or name not in initially_used}
    return filtered


def equal_modulo_gvks(first: Any, second: Any) -> bool:
    """deepEqualDefinitionsModuloGVKs: equal once `x-kubernetes-group-version-kind` is left out of both."""
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        return bool(first == second)
    return {k: v for k, v in first.items() if k != GVK_KEY} == {k: v for k, v in second.items() if k != GVK_KEY}


def merged_gvks(existing: Mapping[str, Any], new: Mapping[str, Any]) -> list[Any] | None:
    """mergedGVKs: the existing list plus the new one's missing kinds, sorted by `group/version.kind`; None when
    the existing definition's list does not change."""
    first, second = existing.get(GVK_KEY), new.get(GVK_KEY)
    if second is None or not isinstance(second, list):
        return None
    if first is None or not isinstance(first, list):
        return list(second)
    seen = {_gvk_key(gvk) for gvk in first}
    added = [gvk for gvk in second if _gvk_key(gvk) not in seen]
    if not added:
        return None
    return sorted([*first, *added], key=_gvk_key)


def _gvk_key(gvk: Any) -> str:
    if not isinstance(gvk, Mapping):
        return ""
    return f"{gvk.get('group', '')}/{gvk.get('version', '')}.{gvk.get('kind', '')}"


def rename_references(value: Any, renames: Mapping[str, str]) -> Any:
    """`value` with every `$ref` found in `renames` replaced (a copy where something changed)."""
    if not renames:
        return value
    if isinstance(value, Mapping):
        reference = value.get("$ref")
        changed = {key: rename_references(item, renames) for key, item in value.items() if key != "$ref"}
        if isinstance(reference, str):
            changed = {"$ref": renames.get(reference, reference), **changed}
        return changed
    if isinstance(value, list):
        return [rename_references(item, renames) for item in value]
    return value


def _renames(destination: Mapping[str, Any], source: Mapping[str, Any],
             equal: Callable[[Any, Any], bool]) -> dict[str, str]:
    """The new names of the source's entries that conflict with different destination entries."""
    used = set(destination)
    renames: dict[str, str] = {}
    for name, value in source.items():
        if name not in destination or equal(destination[name], value):
            continue
        index, new_name = 1, name
        while new_name in destination:  # reuse an equal renamed entry from an earlier merge
            index += 1
            new_name = f"{name}_v{index}"
            if new_name in destination and equal(destination[new_name], value):
                break
        else:
            while new_name in used or new_name in source:
                index += 1
                new_name = f"{name}_v{index}"
            used.add(new_name)
        renames[name] = new_name
    return renames


def merge_specs(destination: JSONDict, source: Mapping[str, Any]) -> None:
    """MergeSpecsIgnorePathConflictRenamingDefinitionsAndParameters: `source` merged into `destination`
    (mutated: its `paths`, `definitions` and `parameters` must be dicts it owns)."""
    source_paths = source.get("paths")
    if source_paths is None:
        return  # a source without paths uses none of its definitions
    kept = [path for path in source_paths if path not in destination["paths"]]
    if not kept:
        return
    if len(kept) < len(source_paths):
        source = filter_spec_by_paths(source, kept)
    definition_renames = _renames(destination["definitions"], source.get("definitions") or {}, equal_modulo_gvks)
    source_parameters = source.get("parameters") or {}
    parameter_renames = _renames(destination.get("parameters") or {}, source_parameters,
                                 lambda first, second: bool(first == second))
    refs = {**{DEFINITIONS_REF + old: DEFINITIONS_REF + new for old, new in definition_renames.items()},
            **{PARAMETERS_REF + old: PARAMETERS_REF + new for old, new in parameter_renames.items()}}
    source = rename_references(source, refs) if refs else source
    for name, value in (source.get("definitions") or {}).items():
        name = definition_renames.get(name, name)
        existing = destination["definitions"].get(name)
        if existing is None:
            destination["definitions"][name] = value
        elif (gvks := merged_gvks(existing, value)) is not None:
            destination["definitions"][name] = {**existing, GVK_KEY: gvks}
    for name, value in (source.get("parameters") or {}).items():
        destination.setdefault("parameters", {}).setdefault(parameter_renames.get(name, name), value)
    for path, item in (source.get("paths") or {}).items():
        destination["paths"][path] = item
