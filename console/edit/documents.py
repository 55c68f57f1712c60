"""YAML in and out of the editor: parsing pasted multi-document YAML, dumping objects, and the applied intent.

Parsing follows what `kubectl apply` accepts (YAML 1.1 scalars as sigs.k8s.io/yaml reads them) with two
differences that keep the console safe and exact: timestamps stay strings (they are strings in the API), and
anchors/aliases are refused (an alias bomb would expand into an enormous request).

The applied intent is what the console sends with server-side apply: the user's object without the fields the
server owns (`managedFields`, `status`, and system metadata such as `uid` and `resourceVersion`), so the console's
field manager claims only what the user wrote.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

JSONDict = dict[str, Any]

MAX_YAML_BYTES = 3 * 1024 * 1024  # the API's own request body limit
SYSTEM_METADATA = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


class IntentLoader(yaml.CSafeLoader):
    """The safe loader with timestamps left as strings and duplicate keys refused (strict field validation would
    refuse them on the server, but the console re-encodes the object, which would hide them)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'line {key_node.start_mark.line + 1}: key "{key}" already set in map',
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


IntentLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a multi-document text: a mapping, or the reason it is not usable."""

    index: int  # 1-based position in the text
    obj: JSONDict | None
    error: str = ""


class YAMLError(ValueError):
    """The text is not YAML the console accepts; the message says where and why."""


def load_documents(text: str) -> list[Document]:
    """Every non-empty document of `text`, in order; a whole-text syntax error raises YAMLError."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise YAMLError(f"the YAML is larger than {MAX_YAML_BYTES} bytes")
    try:
        _refuse_aliases(text)
        loaded = list(yaml.load_all(text, Loader=IntentLoader))  # a safe loader subclass
    except yaml.YAMLError as error:
        raise YAMLError(f"the YAML could not be parsed: {error}") from None
    documents: list[Document] = []
    for value in loaded:
        if value is None:
            continue
        documents.extend(_expand(len(documents) + 1, value))
    return documents


def load_object(text: str) -> JSONDict:
    """Exactly one mapping (the editor's text), or YAMLError."""
    documents = load_documents(text)
    if len(documents) != 1:
        raise YAMLError(f"the editor holds one object; found {len(documents)} documents")
    document = documents[0]
    if document.obj is None:
        raise YAMLError(document.error)
    return document.obj


def dump_yaml(obj: object) -> str:
    """Block-style YAML in the object's own key order, as `kubectl get -o yaml` lays it out."""
    return yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=120)


def applied_intent(obj: JSONDict) -> JSONDict:
    """`obj` without status and the metadata the server owns: what the console applies in the user's name."""
    intent = {key: value for key, value in obj.items() if key != "status"}
    metadata = intent.get("metadata")
    if isinstance(metadata, dict):
        intent["metadata"] = {key: value for key, value in metadata.items() if key not in SYSTEM_METADATA}
    return intent


def without_managed_fields(obj: JSONDict) -> JSONDict:
    """`obj` as the diff compares it: everything but `metadata.managedFields`."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj
    return {**obj, "metadata": {key: value for key, value in metadata.items() if key != "managedFields"}}


def _refuse_aliases(text: str) -> None:
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise YAMLError(f"YAML aliases are not accepted{where}: write the value out")


def _expand(index: int, value: object) -> list[Document]:
    """A mapping is one document; a `kind: List` contributes its items, as kubectl reads it."""
    if not isinstance(value, dict):
        return [Document(index, None, f"document {index} is not a mapping (an object with apiVersion and kind)")]
    if value.get("kind") == "List" and isinstance(value.get("items"), list):
        return [document for offset, item in enumerate(value["items"]) for document in _expand(index + offset, item)]
    return [Document(index, {str(key): item for key, item in value.items()})]
