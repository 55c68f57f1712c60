"""The ValidatingAdmissionPolicy status controller: type checking of a policy's expressions.

The shape of kube-apiserver's validatingadmissionpolicy-status controller (k8s.io/apiserver/pkg/admission/plugin/
policy/validating/typechecking.go, v1.32): for each new policy generation, every validation expression and
messageExpression is compiled with `object` and `oldObject` typed by the schemas of the kinds the policy's
resourceRules name (rules with `*` are skipped, at most 10 kinds), and `params` by the paramKind's schema; each
failing expression becomes an `expressionWarning` (`apps/v1, Kind=Deployment: ERROR: <input>:...`). The status is
`{observedGeneration, typeChecking: {expressionWarnings?}}`, written through `/status` as the server's loopback
identity (system:apiserver). Schemas are the built-in types' (custom resources' kinds are not type checked yet).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.cel import DYN, CelType, CompileError, compile_expression, schema_type
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import LOOPBACK_USER
from apiserver.meta.errors import Conflict, NotFound
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.schema import TypeSchemas

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
POLICIES: Final = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")
MAX_TYPES_TO_CHECK: Final = 10
_UNTYPED: Final = ("request", "namespaceObject", "authorizer", "authorizer.requestResource", "variables")
_ANY_OBJECT: Final = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


@functools.cache
def _catalog() -> ResourceCatalog:
    return ResourceCatalog(builtin_specs())


@functools.cache
def kind_schema(group: str, version: str, kind: str) -> CelType | None:
    """The CEL type of a built-in kind's objects (its definition with every reference inlined)."""
    schemas = TypeSchemas.builtin()
    name = schemas.definition_name(group, version, kind)
    if name is None:
        return None
    return schema_type(_inline(schemas.definitions, name, ()))


def _inline(definitions: Mapping[str, Mapping[str, Any]], name: str, seen: tuple[str, ...]) -> Mapping[str, Any]:
    if name in seen:
        return _ANY_OBJECT  # a recursive type (JSONSchemaProps): what lies below is not checked
    return _resolve(definitions, definitions.get(name) or _ANY_OBJECT, (*seen, name))


def _resolve(definitions: Mapping[str, Mapping[str, Any]], schema: Mapping[str, Any],
             seen: tuple[str, ...]) -> Mapping[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str):
        return _inline(definitions, reference.rpartition("/")[2], seen)
    if schema.get("format") == "int-or-string":
        return {"x-kubernetes-int-or-string": True}
    resolved = {key: value for key, value in schema.items() if key not in ("description", "properties", "items",
                                                                           "additionalProperties")}
    if isinstance(properties := schema.get("properties"), Mapping):
        resolved["properties"] = {key: _resolve(definitions, value, seen) for key, value in properties.items()}
    elif schema.get("type") == "object" and not isinstance(schema.get("additionalProperties"), Mapping):
        resolved["x-kubernetes-preserve-unknown-fields"] = True
    if isinstance(items := schema.get("items"), Mapping):
        resolved["items"] = _resolve(definitions, items, seen)
    if isinstance(values := schema.get("additionalProperties"), Mapping):
        resolved["additionalProperties"] = _resolve(definitions, values, seen)
    return resolved


def kinds_to_check(spec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The (group, version, kind)s the policy's resourceRules name, sorted, at most MAX_TYPES_TO_CHECK."""
    constraints = spec.get("matchConstraints") or {}
    found: set[tuple[str, str, str]] = set()
    for rule in constraints.get("resourceRules") or ():
        names = [sorted(rule.get(key) or ()) for key in ("apiGroups", "apiVersions", "resources")]
        if any(not values or any("*" in value for value in values) for values in names):
            continue
        for group in names[0]:
            for version in names[1]:
                for resource in names[2]:
                    spec_found = _catalog().lookup(group, version, resource.partition("/")[0])
                    if spec_found is not None:
                        found.add((group, version, spec_found.kind))
    return sorted(found)[:MAX_TYPES_TO_CHECK]


def gvk_label(group: str, version: str, kind: str) -> str:
    """schema.GroupVersionKind's String()."""
    return f"{group}/{version}, Kind={kind}" if group else f"/{version}, Kind={kind}"


def type_check(spec: Mapping[str, Any]) -> list[JSONDict]:
    """The expressionWarnings of a policy spec (validations and their messageExpressions)."""
    kinds = [(kind, schema) for kind in kinds_to_check(spec) if (schema := kind_schema(*kind)) is not None]
    if not kinds:
        return []
    params = _params_type(spec.get("paramKind"))
    warnings: list[JSONDict] = []
    for index, validation in enumerate(spec.get("validations") or ()):
        for field in ("expression", "messageExpression"):
            expression = str(validation.get(field) or "")
            if not expression:
                continue
            problems = _check(expression, kinds, params)
            if problems:
                warnings.append({"fieldRef": f"spec.validations[{index}].{field}", "warning": problems})
    return warnings


def _params_type(param_kind: object) -> CelType | None:
    if not isinstance(param_kind, Mapping):
        return None
    group, _, version = str(param_kind.get("apiVersion") or "").rpartition("/")
    return kind_schema(group, version, str(param_kind.get("kind") or "")) or DYN


def _check(expression: str, kinds: Sequence[tuple[tuple[str, str, str], CelType]], params: CelType | None) -> str:
    messages = []
    for kind, object_type in kinds:
        variables = {"object": object_type, "oldObject": object_type, **dict.fromkeys(_UNTYPED, DYN)}
        if params is not None:
            variables["params"] = params
        try:
            compile_expression(expression, variables)
        except CompileError as error:
            messages.append(f"{gvk_label(*kind)}: " + "\n".join(error.errors))
    return "\n".join(messages)


def policy_status(policy: JSONDict) -> JSONDict:
    """The status the controller writes for the policy's current generation."""
    metadata = policy.get("metadata") or {}
    warnings = type_check(policy.get("spec") or {})
    type_checking: JSONDict = {"expressionWarnings": warnings} if warnings else {}
    return {"observedGeneration": int(metadata.get("generation") or 0), "typeChecking": type_checking}


def _needs_status(policy: JSONDict) -> bool:
    observed = (policy.get("status") or {}).get("observedGeneration")
    return observed != (policy.get("metadata") or {}).get("generation")


class ValidatingAdmissionPolicyStatusController:
    name = "validatingadmissionpolicy-status-controller"
    workers = 1
    watches = (POLICIES,)
    user = LOOPBACK_USER
    # A kube-controller-manager controller upstream: one replica writes the status, the elected one.
    leader_elected = True

    def __init__(self) -> None:
        self._client: ApiClient | None = None
        self._policies: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if event_type == "DELETED" or not _needs_status(obj):
            return []
        return [str((obj.get("metadata") or {}).get("name") or "")]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._policies = client, informers[POLICIES]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._policies is not None
        policy = self._policies.get(key)
        if policy is None or not _needs_status(policy):
            return
        updated = {**policy, "status": policy_status(policy)}
        try:
            await self._client.update(POLICIES, updated, subresource="status")
        except NotFound:
            return
        except Conflict:
            raise  # retried with the informer's newer copy
        logger.info("policy_type_checked", extra={"controller": self.name, "policy": key})
