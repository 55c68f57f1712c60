"""The ValidatingAdmissionPolicy plugin over a fake context with real CEL: matching, params, actions, failure
policies and upstream's messages (v1.32 dispatcher.go / validator.go)."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.admission.plugins.validating_policy import ValidatingAdmissionPolicy
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext

GROUP = "admissionregistration.k8s.io"
RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"],
        "scope": "*"}


def policy(name: str = "replicas", generation: int = 1, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                             "resourceRules": [copy.deepcopy(RULE)]},
        "validations": [{"expression": "object.spec.replicas <= 5", "message": "too many replicas"}],
    }
    body.update(spec)
    return {"metadata": {"name": name, "uid": f"uid-{name}", "generation": generation}, "spec": body}


def binding(name: str = "replicas-binding", policy_name: str = "replicas", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"policyName": policy_name, "validationActions": ["Deny"], **spec}}


def deployment(replicas: int = 10, namespace: str = "apps", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace, "labels": labels or {}},
            "spec": {"replicas": replicas}}


class Recorded:
    def __init__(self) -> None:
        self.annotations: dict[str, str] = {}

    def annotate(self, key: str, value: str) -> None:
        self.annotations[key] = value


def attributes(obj: dict[str, Any] | None = None, recorded: Recorded | None = None,
               operation: Operation = Operation.CREATE, **changes: Any) -> AdmissionAttributes:
    obj = obj if obj is not None else deployment()
    values: dict[str, Any] = {
        "operation": operation, "group": "apps", "version": "v1", "resource": "deployments", "kind": "Deployment",
        "namespace": obj["metadata"].get("namespace", ""), "name": obj["metadata"]["name"], "object": obj,
        "annotate": (recorded or Recorded()).annotate,
    }
    values.update(changes)
    return AdmissionAttributes(**values)


def context(*objects: tuple[str, dict[str, Any]], namespaces: dict[str, dict[str, str]] | None = None) -> FakeContext:
    fake = FakeContext()
    for plural, obj in objects:
        group, version = ("", "v1") if plural == "configmaps" else (GROUP, "v1")
        fake.add(group, version, plural, obj)
    for name, labels in (namespaces or {"apps": {}}).items():
        fake.add("", "v1", "namespaces", {"metadata": {"name": name, "labels": labels}, "spec": {}, "status": {}})
    return fake


def pair(policy_body: dict[str, Any] | None = None, binding_body: dict[str, Any] | None = None,
         ) -> list[tuple[str, dict[str, Any]]]:
    return [("validatingadmissionpolicies", policy_body or policy()),
            ("validatingadmissionpolicybindings", binding_body or binding())]


async def denial(fake: FakeContext, request: AdmissionAttributes) -> dict[str, Any]:
    with pytest.raises(ApiError) as raised:
        await ValidatingAdmissionPolicy(fake).validate(request)
    return raised.value.to_status()


async def test_deny_with_upstream_status() -> None:
    status = await denial(context(*pair()), attributes())
    message = ("deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'replicas' with binding "
               "'replicas-binding' denied request: too many replicas")
    assert status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
        "reason": "Invalid", "details": {"name": "web", "group": "apps", "kind": "deployments",
                                         "causes": [{"message": message.split("forbidden: ", 1)[1]}]},
        "code": 422,
    }


async def test_valid_object_is_admitted() -> None:
    await ValidatingAdmissionPolicy(context(*pair())).validate(attributes(deployment(replicas=3)))


@pytest.mark.parametrize(("reason", "code"), [("Forbidden", 403), ("Invalid", 422),
                                              ("RequestEntityTooLarge", 413)])
async def test_reason_sets_the_code(reason: str, code: int) -> None:
    body = policy(validations=[{"expression": "false", "reason": reason}])
    status = await denial(context(*pair(body)), attributes())
    assert (status["reason"], status["code"]) == (reason, code)
    assert status["message"].endswith("denied request: failed expression: false")


async def test_message_expression_wins_over_message() -> None:
    body = policy(validations=[{"expression": "object.spec.replicas <= 5", "message": "static",
                                "messageExpression": "'replicas ' + string(object.spec.replicas) + ' > 5'"}])
    status = await denial(context(*pair(body)), attributes())
    assert status["message"].endswith("denied request: replicas 10 > 5")


async def test_message_expression_error_falls_back_to_message() -> None:
    body = policy(validations=[{"expression": "false", "message": "static", "messageExpression": "object.nope"}])
    status = await denial(context(*pair(body)), attributes())
    assert status["message"].endswith("denied request: static")


async def test_warn_adds_a_warning_and_admits() -> None:
    request = attributes()
    fake = context(*pair(binding_body=binding(validationActions=["Warn"])))
    await ValidatingAdmissionPolicy(fake).validate(request)
    assert request.warnings == [
        "Validation failed for ValidatingAdmissionPolicy 'replicas' with binding 'replicas-binding': too many replicas"]


async def test_audit_adds_the_validation_failure_annotation() -> None:
    recorded = Recorded()
    fake = context(*pair(binding_body=binding(validationActions=["Audit", "Warn"])))
    await ValidatingAdmissionPolicy(fake).validate(attributes(recorded=recorded))
    value = recorded.annotations["validation.policy.admission.k8s.io/validation_failure"]
    assert json.loads(value) == [{"message": "too many replicas", "policy": "replicas", "binding": "replicas-binding",
                                  "expressionIndex": 0, "validationActions": ["Audit", "Warn"]}]


async def test_audit_annotations_are_published_under_the_policy_name() -> None:
    recorded = Recorded()
    body = policy(auditAnnotations=[{"key": "replicas", "valueExpression": "string(object.spec.replicas)"},
                                    {"key": "skipped", "valueExpression": "null"}])
    await ValidatingAdmissionPolicy(context(*pair(body))).validate(attributes(deployment(3), recorded))
    assert recorded.annotations == {"replicas/replicas": "3"}


async def test_runtime_error_with_fail_denies() -> None:
    body = policy(validations=[{"expression": "object.spec.missing > 1"}])
    status = await denial(context(*pair(body)), attributes())
    assert status["message"].endswith(
        "denied request: expression 'object.spec.missing > 1' resulted in error: no such key: missing")
    assert status["code"] == 422


async def test_runtime_error_with_ignore_admits() -> None:
    body = policy(failurePolicy="Ignore", validations=[{"expression": "object.spec.missing > 1"}])
    await ValidatingAdmissionPolicy(context(*pair(body))).validate(attributes())


async def test_match_condition_false_skips_the_policy() -> None:
    body = policy(matchConditions=[{"name": "big-only", "expression": "object.spec.replicas > 100"}])
    await ValidatingAdmissionPolicy(context(*pair(body))).validate(attributes())


async def test_match_condition_error_follows_the_failure_policy() -> None:
    body = policy(matchConditions=[{"name": "broken", "expression": "object.nope == 1"}])
    status = await denial(context(*pair(body)), attributes())
    assert status["message"].endswith("denied request: expression 'object.nope == 1' resulted in error: "
                                      "no such key: nope")


@pytest.mark.parametrize(("selector", "labels", "denied"), [
    ({"matchLabels": {"env": "prod"}}, {"env": "prod"}, True),
    ({"matchLabels": {"env": "prod"}}, {"env": "dev"}, False),
    ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, {}, True),
], ids=["selected", "not-selected", "does-not-exist"])
async def test_namespace_selector(selector: dict[str, Any], labels: dict[str, str], denied: bool) -> None:
    body = policy()
    body["spec"]["matchConstraints"]["namespaceSelector"] = selector
    fake = context(*pair(body), namespaces={"apps": labels})
    if denied:
        await denial(fake, attributes())
    else:
        await ValidatingAdmissionPolicy(fake).validate(attributes())


async def test_binding_match_resources_narrow_the_policy() -> None:
    narrowed = binding(matchResources={"matchPolicy": "Equivalent", "namespaceSelector": {},
                                       "objectSelector": {"matchLabels": {"checked": "yes"}}})
    fake = context(*pair(binding_body=narrowed))
    await ValidatingAdmissionPolicy(fake).validate(attributes())
    await denial(fake, attributes(deployment(labels={"checked": "yes"})))


async def test_exclude_resource_rules_and_resource_names() -> None:
    body = policy()
    body["spec"]["matchConstraints"]["excludeResourceRules"] = [{**RULE, "resourceNames": ["web"]}]
    await ValidatingAdmissionPolicy(context(*pair(body))).validate(attributes())


PARAM_KIND = {"apiVersion": "v1", "kind": "ConfigMap"}
LIMITED = policy(paramKind=PARAM_KIND, validations=[{
    "expression": "object.spec.replicas <= int(params.data.max)",
    "messageExpression": "'at most ' + params.data.max + ' replicas (' + params.metadata.name + ')'"}])


def config_map(name: str, maximum: str, namespace: str = "apps", labels: dict[str, str] | None = None,
               ) -> tuple[str, dict[str, Any]]:
    return "configmaps", {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                          "data": {"max": maximum}}


async def test_params_by_name_in_the_request_namespace() -> None:
    reference = {"name": "limits", "parameterNotFoundAction": "Deny"}
    fake = context(*pair(LIMITED, binding(paramRef=reference)), config_map("limits", "4"))
    status = await denial(fake, attributes())
    assert status["message"].endswith("denied request: at most 4 replicas (limits)")
    await ValidatingAdmissionPolicy(fake).validate(attributes(deployment(4)))


async def test_params_by_selector_evaluate_each_match() -> None:
    reference = {"selector": {"matchLabels": {"kind": "limit"}}, "namespace": "shared",
                 "parameterNotFoundAction": "Allow"}
    fake = context(*pair(LIMITED, binding(paramRef=reference)), config_map("a", "20", "shared", {"kind": "limit"}),
                   config_map("b", "8", "shared", {"kind": "limit"}), config_map("c", "1", "shared"))
    status = await denial(fake, attributes())
    assert status["message"].endswith("denied request: at most 8 replicas (b)")
    await ValidatingAdmissionPolicy(fake).validate(attributes(deployment(8)))


async def test_missing_params_with_deny_action() -> None:
    reference = {"name": "absent", "parameterNotFoundAction": "Deny"}
    status = await denial(context(*pair(LIMITED, binding(paramRef=reference))), attributes())
    assert status["message"] == (
        "deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'replicas' with binding 'replicas-binding' "
        "denied request: failed to configure binding: no params found for policy binding with `Deny` "
        "parameterNotFoundAction")
    assert (status["reason"], status["code"]) == ("Invalid", 422)


async def test_missing_params_with_allow_action_admit() -> None:
    reference = {"name": "absent", "parameterNotFoundAction": "Allow"}
    await ValidatingAdmissionPolicy(context(*pair(LIMITED, binding(paramRef=reference)))).validate(attributes())


async def test_unknown_param_kind_is_a_policy_configuration_error() -> None:
    body = policy(paramKind={"apiVersion": "example.com/v1", "kind": "Limit"})
    reference = {"name": "x", "parameterNotFoundAction": "Deny"}
    status = await denial(context(*pair(body, binding(paramRef=reference))), attributes())
    assert status["message"].endswith(
        "ValidatingAdmissionPolicy 'replicas' denied request: failed to configure policy: failed to find resource "
        "referenced by paramKind: 'example.com/v1, Kind=Limit'")


async def test_namespaced_params_for_a_cluster_scoped_request() -> None:
    body = policy(paramKind=PARAM_KIND, validations=[{"expression": "true"}])
    body["spec"]["matchConstraints"]["resourceRules"] = [{**RULE, "apiGroups": [""], "resources": ["namespaces"]}]
    reference = {"name": "limits", "parameterNotFoundAction": "Deny"}
    namespace = {"metadata": {"name": "new"}}
    request = attributes(namespace, group="", resource="namespaces", kind="Namespace", namespace="")
    status = await denial(context(*pair(body, binding(paramRef=reference))), request)
    assert status["message"] == (
        "namespaces \"new\" is forbidden: ValidatingAdmissionPolicy 'replicas' with binding 'replicas-binding' "
        "denied request: failed to configure binding: cannot use namespaced paramRef in policy binding that "
        "matches cluster-scoped resources")


async def test_variables_request_and_namespace_object() -> None:
    body = policy(variables=[{"name": "team", "expression": "namespaceObject.metadata.labels.team"}],
                  validations=[{"expression": "variables.team == 'web' && request.operation == 'CREATE' "
                                              "&& request.userInfo.username == 'alice'"}])
    fake = context(*pair(body), namespaces={"apps": {"team": "web"}})
    user = type("User", (), {"name": "alice", "uid": "", "groups": ("devs",), "extra": {}})()
    await ValidatingAdmissionPolicy(fake).validate(attributes(user=user))
    status = await denial(fake, attributes(operation=Operation.UPDATE, user=user))
    assert status["message"].endswith("denied request: failed expression: variables.team == 'web' && "
                                      "request.operation == 'CREATE' && request.userInfo.username == 'alice'")


async def test_authorizer_asks_the_access_review() -> None:
    asked: list[Any] = []

    async def review(user: object, spec: Any) -> dict[str, Any]:
        asked.append(spec)
        return {"allowed": spec["resourceAttributes"].get("verb") == "get"}

    fake = context(*pair(policy(validations=[{
        "expression": "authorizer.group('apps').resource('deployments').namespace('apps').check('get').allowed() "
                      "&& !authorizer.group('').resource('secrets').check('list').allowed()"}])))
    fake.access_review = review  # type: ignore[attr-defined]
    await ValidatingAdmissionPolicy(fake).validate(attributes())
    assert asked == [
        {"resourceAttributes": {"namespace": "apps", "verb": "get", "group": "apps", "resource": "deployments"}},
        {"resourceAttributes": {"verb": "list", "resource": "secrets"}}]


async def test_admission_configuration_objects_are_exempt() -> None:
    body = policy()
    body["spec"]["matchConstraints"]["resourceRules"] = [{**RULE, "apiGroups": ["*"], "resources": ["*"]}]
    body["spec"]["validations"] = [{"expression": "false"}]
    request = attributes(policy("other"), group=GROUP, resource="validatingadmissionpolicies",
                         kind="ValidatingAdmissionPolicy", namespace="")
    await ValidatingAdmissionPolicy(context(*pair(body))).validate(request)


async def test_policies_recompile_on_a_new_generation() -> None:
    fake = context(*pair())
    plugin = ValidatingAdmissionPolicy(fake)
    await denial(fake, attributes())
    await plugin.validate(attributes(deployment(3)))
    fake.cached[(GROUP, "v1", "validatingadmissionpolicies")] = [
        policy(generation=2, validations=[{"expression": "object.spec.replicas <= 20"}])]
    await plugin.validate(attributes())


HPA_V2 = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "web", "namespace": "apps"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                   "maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {
                       "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}]}}


@pytest.mark.parametrize("match_policy", ["Equivalent", "Exact"])
async def test_equivalent_match_policy_converts_to_the_rule_version(match_policy: str) -> None:
    body = policy(validations=[{
        "expression": "request.kind.version == 'v1' && request.requestKind.version == 'v2' && "
                      "object.spec.targetCPUUtilizationPercentage <= 80"}])
    constraints = body["spec"]["matchConstraints"]
    constraints["matchPolicy"] = match_policy
    constraints["resourceRules"] = [{**RULE, "apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"]}]
    request = attributes(HPA_V2, group="autoscaling", version="v2", resource="horizontalpodautoscalers",
                         kind="HorizontalPodAutoscaler")
    if match_policy == "Exact":
        await ValidatingAdmissionPolicy(context(*pair(body))).validate(request)
        return
    status = await denial(context(*pair(body)), request)
    assert status["message"].startswith('horizontalpodautoscalers.autoscaling "web" is forbidden: ')
    assert status["message"].endswith("denied request: failed expression: request.kind.version == 'v1' && "
                                      "request.requestKind.version == 'v2' && "
                                      "object.spec.targetCPUUtilizationPercentage <= 80")
    calmer = copy.deepcopy(HPA_V2)
    calmer["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 70
    await ValidatingAdmissionPolicy(context(*pair(body))).validate(
        attributes(calmer, group="autoscaling", version="v2", resource="horizontalpodautoscalers",
                   kind="HorizontalPodAutoscaler"))
