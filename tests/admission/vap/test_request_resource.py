"""`authorizer.requestResource`: a resource check pre-filled with the admitted request's group, resource,
subresource, namespace and name (upstream's NewResourceAuthorizerVal), in ValidatingAdmissionPolicy expressions and
in webhook matchConditions, which share the RequestAuthorizer."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.admission.plugins.validating_policy import ValidatingAdmissionPolicy
from apiserver.admission.plugins.webhooks_conditions import ConditionMatcher
from apiserver.admission.plugins.webhooks_source import Webhook
from tests.admission.vap.test_plugin import attributes, context, denial, deployment, pair, policy

Review = list[Mapping[str, Any]]


def reviewer(asked: Review, allowed_verbs: frozenset[str]) -> Any:
    async def review(user: object, spec: Mapping[str, Any]) -> dict[str, Any]:
        asked.append(spec)
        return {"allowed": spec["resourceAttributes"]["verb"] in allowed_verbs}
    return review


async def test_a_policy_checks_the_requests_own_resource() -> None:
    asked: Review = []
    fake = context(*pair(policy(validations=[{
        "expression": "authorizer.requestResource.check('update').allowed()",
        "message": "only updaters may create"}])))
    fake.access_review = reviewer(asked, frozenset({"update"}))  # type: ignore[attr-defined]
    await ValidatingAdmissionPolicy(fake).validate(attributes(deployment(3)))
    assert asked == [{"resourceAttributes": {"namespace": "apps", "verb": "update", "group": "apps",
                                             "resource": "deployments", "name": "web"}}]


async def test_a_policy_denies_when_the_user_may_not_use_the_verb() -> None:
    fake = context(*pair(policy(validations=[{
        "expression": "authorizer.requestResource.check('delete').allowed()", "message": "deleters only"}])))
    fake.access_review = reviewer([], frozenset({"update"}))  # type: ignore[attr-defined]
    status = await denial(fake, attributes(deployment(3)))
    assert status["message"] == ("deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'replicas' with "
                                 "binding 'replicas-binding' denied request: deleters only")
    assert (status["reason"], status["code"]) == ("Invalid", 422)


async def test_a_subresource_request_is_checked_with_its_subresource() -> None:
    asked: Review = []
    body = policy(validations=[{"expression": "authorizer.requestResource.subresource('').check('get').allowed() "
                                              "&& authorizer.requestResource.check('patch').allowed()"}])
    body["spec"]["matchConstraints"]["resourceRules"][0]["resources"] = ["deployments/scale"]
    fake = context(*pair(body))
    fake.access_review = reviewer(asked, frozenset({"get", "patch"}))  # type: ignore[attr-defined]
    request = attributes(deployment(3), operation=Operation.UPDATE, subresource="scale", old_object=deployment(2))
    await ValidatingAdmissionPolicy(fake).validate(request)
    assert [spec["resourceAttributes"] for spec in asked] == [
        {"namespace": "apps", "verb": "get", "group": "apps", "resource": "deployments", "name": "web"},
        {"namespace": "apps", "verb": "patch", "group": "apps", "resource": "deployments", "subresource": "scale",
         "name": "web"}]


@pytest.mark.parametrize(("allowed_verbs", "called"), [(frozenset({"create"}), True), (frozenset(), False)],
                         ids=["allowed", "refused"])
async def test_a_webhook_match_condition_checks_the_requests_resource(allowed_verbs: frozenset[str],
                                                                      called: bool) -> None:
    asked: Review = []
    hook = Webhook(uid="u", configuration="c", namespace_selector=None, object_selector=None, spec={
        "name": "authz.example.com", "matchConditions": [
            {"name": "creators", "expression": "authorizer.requestResource.check('create').allowed()"}]})
    request = AdmissionAttributes(Operation.CREATE, "", "v1", "configmaps", "ConfigMap", namespace="default",
                                  name="settings")
    matcher = ConditionMatcher(reviewer(asked, allowed_verbs))
    assert await matcher.matches(hook, request, {"object": {}, "oldObject": None, "request": {}}) is called
    assert asked == [{"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "configmaps",
                                             "name": "settings"}}]
