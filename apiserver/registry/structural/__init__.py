"""The structural schema engine of custom resources: what apiextensions-apiserver does with a CRD version's schema.

A CRD's `openAPIV3Schema` (already accepted by the CRD's own validation) becomes a `StructuralSchema`, built
once per served version. It offers what the custom-resource handler needs on every write: pruning of unknown
fields, structural defaulting, kube-openapi's value validation with upstream's messages, embedded-resource and
list-type checks, and the `x-kubernetes-validations` CEL rules. Its `.node` is a `registry.schema.Schema` tree,
so strict decoding, merge patch and server-side apply navigate custom resources like built-in kinds.

Kept apart from `registry/schema*.py`, which describe the built-in Go types: custom resources are unstructured
JSON, so their wrong types are validation errors here, never decode errors.
"""
from __future__ import annotations

from apiserver.registry.structural.schema import StructuralSchema, blocking_error

__all__ = ["StructuralSchema", "blocking_error"]
