"""The parameters of a policy binding: upstream's CollectParams (policy/generic, v1.32).

A policy without paramKind, or a binding without paramRef, evaluates once with `params` null. Otherwise the
binding's paramRef picks objects of the paramKind's resource by name or by label selector, in paramRef.namespace,
else the request's namespace for a namespaced kind (a cluster-scoped request then is a configuration error).
No object found with parameterNotFoundAction Deny is a configuration error; with Allow the binding does nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from apiserver.admission.interface import ObjectLister
from apiserver.admission.plugins.validating_policy_matching import MatchError
from apiserver.meta.objects import JSONDict
from apiserver.meta.selectors import LabelSelector, SelectorError

NOT_FOUND_DENIED: Final = "no params found for policy binding with `Deny` parameterNotFoundAction"


@dataclass(frozen=True, slots=True)
class ParamResource:
    """Where the objects of a paramKind live: their resource and scope."""

    group: str
    version: str
    plural: str
    namespaced: bool


ListerFactory = Callable[[str, str, str], ObjectLister]


def param_kind_label(param_kind: Mapping[str, Any]) -> str:
    """schema.GroupVersionKind's String(): `apps/v1, Kind=Deployment`, `/v1, Kind=ConfigMap`."""
    group, _, version = str(param_kind.get("apiVersion") or "").rpartition("/")
    return f"{group}/{version}, Kind={param_kind.get('kind') or ''}"


async def collect_params(param_kind: Mapping[str, Any] | None, resource: ParamResource | None,
                         param_ref: Mapping[str, Any] | None, namespace: str,
                         objects: ListerFactory) -> list[JSONDict | None]:
    """The parameter objects to evaluate a binding with ([None] when it takes none); raises MatchError."""
    if param_kind is None or param_ref is None:
        return [None]
    if resource is None:
        raise MatchError(f"paramKind kind `{param_kind_label(param_kind)}` not known")
    lister = objects(resource.group, resource.version, resource.plural)
    reference_namespace = str(param_ref.get("namespace") or "")
    if reference_namespace and not resource.namespaced:
        raise MatchError("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
    scope = ""
    if resource.namespaced:
        scope = reference_namespace or namespace
        if not scope:
            raise MatchError("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources")
    params = await _find(param_ref, lister, scope)
    if not params and param_ref.get("parameterNotFoundAction") == "Deny":
        raise MatchError(NOT_FOUND_DENIED)
    return params


async def _find(param_ref: Mapping[str, Any], lister: ObjectLister, scope: str) -> list[JSONDict | None]:
    name = str(param_ref.get("name") or "")
    selector = param_ref.get("selector")
    if name:
        if selector is not None:
            raise MatchError("paramRef.name and paramRef.selector are mutually exclusive")
        found = await lister.get(scope, name)
        return [found] if found is not None else []
    if isinstance(selector, Mapping):
        try:
            parsed = LabelSelector.from_label_selector(selector)
        except SelectorError as error:
            raise MatchError(error.message) from None
        items = sorted(await lister.list(scope), key=_name)
        return [item for item in items if parsed.matches(_labels(item))]
    raise MatchError("one of name or selector must be provided")


def _name(obj: JSONDict) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _labels(obj: JSONDict) -> Mapping[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, Mapping) else {}
