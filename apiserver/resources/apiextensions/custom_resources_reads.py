"""Custom resources read from storage, as upstream's storage decoder gives them: pruned and defaulted.

kube-apiserver decodes every custom resource it reads from etcd through the CRD's schema (apiextensions-apiserver
crdHandler: the storage codec's schema-coercing decoder and unstructured defaulter), in the version the object
was stored in: fields the schema no longer knows are pruned and defaults added to the schema since the object
was written appear. Storage itself is never rewritten by a read.

`StoredObjectReader.normalize` is that decoding step for one CRD, to be applied where the registry decodes
stored objects (once per stored object and CRD generation, beside the cached object, like conversion views).
It answers None when the schema changes nothing, which is the common case, so the stored object and its bytes
are served as they are.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import orjson

from apiserver.meta.objects import JSONDict
from apiserver.resources.apiextensions.custom_resources import CustomResourceStrategy, structural_engine
from apiserver.resources.apiextensions.custom_resources_schema import schema_node, version_schema


class StoredObjectReader:
    """The storage decoding of one CRD's objects: the schema of each version (served or not), by apiVersion."""

    _tokens = itertools.count(1)

    def __init__(self, decoders: Mapping[str, CustomResourceStrategy]) -> None:
        self._decoders = dict(decoders)
        # Names this reader's decodings beside cached objects (registry.conversion.decoded).
        self.token = next(self._tokens)

    @classmethod
    def of(cls, crd: Mapping[str, Any], group: str, kind: str) -> StoredObjectReader:
        versions = (crd.get("spec") or {}).get("versions") or ()
        decoders = {}
        for version in versions:
            openapi_schema = version_schema(crd, version)
            decoders[f"{group}/{version.get('name')}"] = CustomResourceStrategy(
                kind, schema_node(openapi_schema), structural_engine(openapi_schema))
        return cls(decoders)

    def normalize(self, obj: Mapping[str, Any]) -> JSONDict | None:
        """`obj` (never changed) pruned and defaulted by the schema of its own apiVersion; None when that changes
        nothing or the version is unknown (a version removed from the CRD: upstream cannot decode it either)."""
        decoder = self._decoders.get(str(obj.get("apiVersion") or ""))
        if decoder is None:
            return None
        decoded: JSONDict = orjson.loads(orjson.dumps(obj))  # a copy we own (cached objects are shared)
        decoder.prune(decoded)
        decoder.default(decoded)
        return None if decoded == obj else decoded
