"""The `request` and `namespaceObject` variables of policy expressions (upstream's CreateAdmissionRequest and
CreateNamespaceObject, plugin/cel/filter.go v1.32).

`request` is an AdmissionRequest without uid, object and oldObject; `namespaceObject` keeps only the namespace's
spec, status and the metadata fields upstream copies (no managedFields, ownerReferences).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.admission.interface import AdmissionAttributes
from apiserver.admission.plugins.validating_policy_matching import MatchedResource
from apiserver.meta.objects import JSONDict

_NAMESPACE_METADATA: Final = (
    "name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "finalizers",
)


def request_variable(attributes: AdmissionAttributes, matched: MatchedResource | None = None) -> JSONDict:
    """The AdmissionRequest as expressions see it (fields in upstream's JSON names): `kind` and `resource` as
    the policy matched them, `requestKind` and `requestResource` as the request named them."""
    own = {"group": attributes.group, "version": attributes.version}
    kind = {"group": matched.group, "version": matched.version, "kind": matched.kind} if matched else {
        **own, "kind": attributes.kind}
    resource = {"group": matched.group, "version": matched.version, "resource": matched.resource} if matched else {
        **own, "resource": attributes.resource}
    request_kind = getattr(attributes, "request_kind", None) or {**own, "kind": attributes.kind}
    request_resource = getattr(attributes, "request_resource", None) or {**own, "resource": attributes.resource}
    request: JSONDict = {
        "kind": kind, "resource": resource, "requestKind": _as_dict(request_kind),
        "requestResource": _as_dict(request_resource), "name": attributes.name,
        "operation": str(attributes.operation), "userInfo": user_info(attributes.user),
        "dryRun": attributes.dry_run,
    }
    if attributes.subresource:
        request["subResource"] = request["requestSubResource"] = attributes.subresource
    if attributes.namespace:
        request["namespace"] = attributes.namespace
    options = getattr(attributes, "options", None)
    if options:
        request["options"] = options
    return request


def user_info(user: object) -> JSONDict:
    """authentication/v1 UserInfo of the request's user (empty fields omitted)."""
    if user is None:
        return {}
    info: JSONDict = {}
    if name := getattr(user, "name", ""):
        info["username"] = name
    if uid := getattr(user, "uid", ""):
        info["uid"] = uid
    if groups := list(getattr(user, "groups", ()) or ()):
        info["groups"] = groups
    if extra := getattr(user, "extra", None):
        info["extra"] = {key: list(values) for key, values in extra.items()}
    return info


def namespace_variable(namespace: Mapping[str, Any] | None) -> JSONDict | None:
    """The trimmed namespace, or None for cluster-scoped requests and namespaces themselves."""
    if namespace is None:
        return None
    metadata = namespace.get("metadata") or {}
    trimmed: JSONDict = {"metadata": {key: metadata[key] for key in _NAMESPACE_METADATA if key in metadata}}
    trimmed["spec"] = namespace.get("spec") or {}
    trimmed["status"] = namespace.get("status") or {}
    return trimmed


def _as_dict(value: object) -> JSONDict:
    if isinstance(value, Mapping):
        return dict(value)
    return {key: getattr(value, key) for key in ("group", "version", "kind", "resource") if hasattr(value, key)}
