"""The ValidatingAdmissionPolicy admission plugin (admissionregistration.k8s.io/v1), as kube-apiserver v1.32.

k8s.io/apiserver/pkg/admission/plugin/policy/validating (dispatcher.go): policies and bindings are read from the
watch caches and compiled once per policy generation. For each policy whose matchConstraints select the request,
each of its bindings whose matchResources select it is evaluated once per parameter object. A failed validation
is enforced by the binding's validationActions: Deny refuses the request (the first denial wins, with the code of
its reason: Invalid 422, Forbidden 403, RequestEntityTooLarge 413), Warn adds a `Warning` header, Audit adds the
`validation.policy.admission.k8s.io/validation_failure` audit annotation. Configuration errors (unknown
paramKind, missing params, selector errors) and expression errors follow the policy's failurePolicy.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from apiserver.admission.errors import object_name
from apiserver.admission.interface import AdmissionAttributes, NamespaceLister, Operation, PluginContext
from apiserver.admission.plugins.validating_policy_authz import RequestAuthorizer
from apiserver.admission.plugins.validating_policy_evaluation import (
    AUTHORIZER_VARIABLES,
    CompiledPolicy,
    Decision,
    Result,
    compile_policy,
    evaluate,
)
from apiserver.admission.plugins.validating_policy_matching import (
    ADMISSION_GROUP,
    MatchedResource,
    MatchError,
    is_exempt,
    matches,
    namespace_object,
)
from apiserver.admission.plugins.validating_policy_params import ParamResource, collect_params, param_kind_label
from apiserver.admission.plugins.validating_policy_request import namespace_variable, request_variable
from apiserver.meta.errors import ApiError, StatusCause, StatusDetails, go_quote
from apiserver.meta.objects import JSONDict
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.conversion import convert

VALIDATION_FAILURE_ANNOTATION: Final = "validation.policy.admission.k8s.io/validation_failure"
MAX_AUDIT_ANNOTATION_VALUE_LENGTH: Final = 10 * 1024


class PolicyDenied(ApiError):
    """A request a policy refused: admission.NewForbidden's message with the reason and code of the denial
    (upstream's reasonToCode; an unknown reason answers 422)."""

    code: ClassVar[int] = 422
    reason: ClassVar[str] = "Invalid"


class _ForbiddenDenial(PolicyDenied):
    code = 403
    reason = "Forbidden"


class _TooLargeDenial(PolicyDenied):
    code = 413
    reason = "RequestEntityTooLarge"


_DENIALS: Final[dict[str, type[PolicyDenied]]] = {
    "Forbidden": _ForbiddenDenial, "Invalid": PolicyDenied, "RequestEntityTooLarge": _TooLargeDenial,
}


def _denial(attributes: AdmissionAttributes, message: str, reason: str) -> ApiError:
    name = object_name(attributes)
    text = f"{attributes.group_resource} {go_quote(name)} is forbidden: {message}"
    details = StatusDetails(name=name, group=attributes.group, kind=attributes.resource,
                            causes=(StatusCause(message=message),))
    return _DENIALS.get(reason, PolicyDenied).from_message(text, details=details)


class ValidatingAdmissionPolicy:
    """Upstream's ValidatingAdmissionPolicy plugin (default on)."""

    name = "ValidatingAdmissionPolicy"

    def __init__(self, context: PluginContext) -> None:
        self._context = context
        self._compiled: dict[tuple[str, str, int], CompiledPolicy] = {}
        self._builtin = ResourceCatalog(builtin_specs())

    def handles(self, operation: Operation) -> bool:
        return True

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if is_exempt(attributes):
            return
        bindings = await self._context.objects(ADMISSION_GROUP, "v1", "validatingadmissionpolicybindings").list("")
        if not bindings:
            return
        policies = await self._context.objects(ADMISSION_GROUP, "v1", "validatingadmissionpolicies").list("")
        by_policy: dict[str, list[JSONDict]] = {}
        for binding in sorted(bindings, key=_name):
            by_policy.setdefault(str(_spec(binding).get("policyName") or ""), []).append(binding)
        denials: list[tuple[JSONDict, JSONDict | None, Decision]] = []
        for policy in sorted(policies, key=_name):
            if own := by_policy.get(_name(policy)):
                await self._dispatch(policy, own, attributes, denials)
        if denials:
            denied_by, denied_binding, decision = denials[0]
            if denied_binding is None:
                message = f"ValidatingAdmissionPolicy '{_name(denied_by)}' denied request: {decision.message}"
            else:
                message = (f"ValidatingAdmissionPolicy '{_name(denied_by)}' with binding '{_name(denied_binding)}' "
                           f"denied request: {decision.message}")
            raise _denial(attributes, message, decision.reason)

    async def _dispatch(self, policy: JSONDict, bindings: Sequence[JSONDict], attributes: AdmissionAttributes,
                        denials: list[tuple[JSONDict, JSONDict | None, Decision]]) -> None:
        spec = _spec(policy)
        compiled = self._compile(policy)

        def configuration_error(error: Exception, binding: JSONDict | None) -> None:
            if compiled.failure_policy == "Ignore":
                return
            scope = "policy" if binding is None else "binding"
            denials.append((policy, binding, Decision("deny", "error", f"failed to configure {scope}: {error}")))

        try:
            matched = await self._match(spec.get("matchConstraints"), attributes)
        except MatchError as error:
            return configuration_error(error, None)
        if matched is None:
            return
        param_kind = spec.get("paramKind") if isinstance(spec.get("paramKind"), Mapping) else None
        resource = self._param_resource(param_kind) if param_kind is not None else None
        if param_kind is not None and resource is None:
            label = param_kind_label(param_kind)
            return configuration_error(MatchError(f"failed to find resource referenced by paramKind: '{label}'"), None)
        annotations: dict[str, list[str]] = {}
        for binding in bindings:
            try:
                await self._evaluate_binding(policy, binding, compiled, (param_kind, resource),
                                             (attributes, matched), denials, annotations)
            except MatchError as error:
                configuration_error(error, binding)
        for key, values in annotations.items():
            attributes.annotate(f"{_name(policy)}/{key}", ", ".join(values))

    async def _evaluate_binding(self, policy: JSONDict, binding: JSONDict, compiled: CompiledPolicy,
                                param: tuple[Mapping[str, Any] | None, ParamResource | None],
                                request: tuple[AdmissionAttributes, MatchedResource],
                                denials: list[tuple[JSONDict, JSONDict | None, Decision]],
                                annotations: dict[str, list[str]]) -> None:
        (param_kind, resource), (attributes, matched) = param, request
        binding_spec = _spec(binding)
        match_resources = binding_spec.get("matchResources")
        if isinstance(match_resources, Mapping) and await self._match(match_resources, attributes) is None:
            return
        reference = binding_spec.get("paramRef") if isinstance(binding_spec.get("paramRef"), Mapping) else None
        params = await collect_params(param_kind, resource, reference, attributes.namespace,
                                      self._context.objects)
        activation = await self._activation(attributes, matched, compiled)
        actions = [str(action) for action in binding_spec.get("validationActions") or ()]
        for param_object in params:
            result = await self._run(compiled, {**activation, "params": _with_kind(param_object, param_kind)})
            self._enforce(policy, binding, actions, result, attributes, denials)
            for annotation in result.annotations:
                if annotation.action == "publish":
                    values = annotations.setdefault(annotation.key, [])
                    value = annotation.value[:MAX_AUDIT_ANNOTATION_VALUE_LENGTH]
                    if value not in values:
                        values.append(value)
                elif annotation.action == "error":
                    denials.append((policy, binding, Decision("deny", "error", annotation.error)))

    def _enforce(self, policy: JSONDict, binding: JSONDict, actions: Sequence[str], result: Result,
                 attributes: AdmissionAttributes, denials: list[tuple[JSONDict, JSONDict | None, Decision]]) -> None:
        for index, decision in enumerate(result.decisions):
            if decision.action != "deny":
                continue
            for action in actions:
                if action == "Deny":
                    denials.append((policy, binding, decision))
                elif action == "Warn":
                    attributes.add_warning(f"Validation failed for ValidatingAdmissionPolicy '{_name(policy)}' "
                                           f"with binding '{_name(binding)}': {decision.message}")
                elif action == "Audit":
                    attributes.annotate(VALIDATION_FAILURE_ANNOTATION, _failure_annotation(
                        policy, binding, index, decision, actions))

    async def _run(self, compiled: CompiledPolicy, activation: dict[str, Any]) -> Result:
        if compiled.uses_authorizer:
            return await asyncio.to_thread(evaluate, compiled, activation)
        return evaluate(compiled, activation)

    async def _activation(self, attributes: AdmissionAttributes, matched: MatchedResource,
                          compiled: CompiledPolicy) -> dict[str, Any]:
        namespace = None
        if attributes.namespace and not (attributes.group == "" and attributes.resource == "namespaces"):
            namespace = await namespace_object(attributes.namespace, self._context.namespaces,
                                               self._live_namespaces())
        activation: dict[str, Any] = {
            "object": _versioned(attributes.object, attributes, matched),
            "oldObject": _versioned(attributes.old_object, attributes, matched),
            "request": request_variable(attributes, matched), "namespaceObject": namespace_variable(namespace),
        }
        review = getattr(self._context, "access_review", None)
        if compiled.uses_authorizer and review is not None:
            authorizer = RequestAuthorizer.for_request(review, attributes, asyncio.get_running_loop())
            activation.update(dict.fromkeys(AUTHORIZER_VARIABLES, authorizer))
        return activation

    async def _match(self, resources: object, attributes: AdmissionAttributes) -> MatchedResource | None:
        """What the MatchResources select the request as (everything when there are none)."""
        if not isinstance(resources, Mapping):
            return MatchedResource(attributes.group, attributes.version, attributes.resource, attributes.kind)
        return await matches(resources, attributes, self._context.namespaces, self._live_namespaces(),
                             self._catalog())

    def _live_namespaces(self) -> NamespaceLister | None:
        try:
            return self._context.live_namespaces
        except AttributeError:
            return None

    def _compile(self, policy: JSONDict) -> CompiledPolicy:
        metadata = policy.get("metadata") or {}
        key = (str(metadata.get("name")), str(metadata.get("uid")), int(metadata.get("generation") or 0))
        compiled = self._compiled.get(key)
        if compiled is None:
            self._compiled = {old: value for old, value in self._compiled.items() if old[:2] != key[:2]}
            compiled = self._compiled[key] = compile_policy(_spec(policy))
        return compiled

    def _catalog(self) -> ResourceCatalog:
        """The served resources: the context's catalog (custom resources too), else the built-ins."""
        current = getattr(self._context, "current_catalog", None)
        catalog = current() if current is not None else None
        return catalog if isinstance(catalog, ResourceCatalog) else self._builtin

    def _param_resource(self, param_kind: Mapping[str, Any]) -> ParamResource | None:
        """The served resource of the paramKind."""
        group, _, version = str(param_kind.get("apiVersion") or "").rpartition("/")
        spec = self._catalog().by_kind(group, version, str(param_kind.get("kind") or ""))
        return ParamResource(group, version, spec.plural, spec.namespaced) if spec is not None else None


def _failure_annotation(policy: JSONDict, binding: JSONDict, index: int, decision: Decision,
                        actions: Sequence[str]) -> str:
    value = [{"message": decision.message, "policy": str(_spec(binding).get("policyName") or _name(policy)),
              "binding": _name(binding), "expressionIndex": index, "validationActions": list(actions)}]
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _versioned(obj: JSONDict | None, attributes: AdmissionAttributes, matched: MatchedResource) -> JSONDict | None:
    """The object in the version the policy matched (matchPolicy Equivalent); unchanged otherwise."""
    if obj is None or matched.version == attributes.version or matched.kind != attributes.kind:
        return obj
    return convert(obj, matched.api_version)


def _with_kind(param: JSONDict | None, param_kind: Mapping[str, Any] | None) -> JSONDict | None:
    if param is None or param_kind is None or param.get("kind"):
        return param
    return {"apiVersion": param_kind.get("apiVersion"), "kind": param_kind.get("kind"), **param}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _name(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("name") or "") if isinstance(metadata, Mapping) else ""
