"""The audit policy: first matching rule wins, upstream's matching of users, verbs, resources and URLs, and
upstream's validation errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from apiserver.audit.policy import AuditPolicy, AuditPolicyError, Level, Stage, load_policy_file, parse_policy
from apiserver.meta.requestinfo import parse_request_info
from tests.audit import User

POLICY = """
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: [watch]
  resources: [{group: "", resources: [endpoints, services]}]
- level: None
  resources: [{group: "", resources: [configmaps], resourceNames: [leader-lock]}]
- level: Metadata
  resources: [{group: "", resources: [pods/log, "*/status"]}]
- level: RequestResponse
  resources: [{group: "", resources: [pods]}]
- level: Request
  resources: [{group: apps, resources: ["deployments/*"]}]
- level: None
  userGroups: ["system:unauthenticated"]
  nonResourceURLs: ["/healthz*", /version]
- level: Request
  namespaces: [kube-system]
- level: Metadata
  namespaces: [""]
  omitStages: [ResponseStarted]
  omitManagedFields: true
- level: Request
  resources: [{group: rbac.authorization.k8s.io}]
- level: Metadata
  nonResourceURLs: ["*"]
"""

ALICE = User("alice")
PROXY = User("system:kube-proxy", groups=("system:nodes",))
ANONYMOUS = User("system:anonymous", groups=("system:unauthenticated",))


@pytest.fixture(scope="module")
def policy() -> AuditPolicy:
    return parse_policy(POLICY)


@pytest.mark.parametrize(
    ("user", "method", "path", "query", "level"),
    [
        (PROXY, "GET", "/api/v1/namespaces/default/endpoints", "watch=1", Level.NONE),
        (ALICE, "GET", "/api/v1/namespaces/default/endpoints", "watch=1", Level.NONE),
        (PROXY, "GET", "/api/v1/namespaces/default/endpoints", "", Level.NONE),
        (ALICE, "GET", "/api/v1/namespaces/ns/configmaps/leader-lock", "", Level.NONE),
        (ALICE, "GET", "/api/v1/namespaces/ns/configmaps/other", "", Level.NONE),
        (ALICE, "GET", "/api/v1/namespaces/ns/pods/p/log", "", Level.METADATA),
        (ALICE, "PUT", "/api/v1/namespaces/ns/services/s/status", "", Level.METADATA),
        (ALICE, "POST", "/api/v1/namespaces/ns/pods", "", Level.REQUEST_RESPONSE),
        (ALICE, "POST", "/api/v1/namespaces/ns/pods/p/eviction", "", Level.NONE),
        (ALICE, "PUT", "/apis/apps/v1/namespaces/ns/deployments/d/scale", "", Level.REQUEST),
        # As upstream's checker: `deployments/*` also matches the deployment itself.
        (ALICE, "GET", "/apis/apps/v1/namespaces/ns/deployments/d", "", Level.REQUEST),
        (ALICE, "GET", "/apis/apps/v1/namespaces/ns/replicasets/r", "", Level.NONE),
        (ANONYMOUS, "GET", "/healthz/etcd", "", Level.NONE),
        (ANONYMOUS, "GET", "/version", "", Level.NONE),
        (ANONYMOUS, "GET", "/versions", "", Level.METADATA),
        (ALICE, "GET", "/healthz", "", Level.METADATA),
        (ALICE, "DELETE", "/apis/batch/v1/namespaces/kube-system/jobs/j", "", Level.REQUEST),
        (ALICE, "GET", "/api/v1/nodes/n1", "", Level.METADATA),
        (ALICE, "GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles", "", Level.REQUEST),
        (None, "GET", "/api/v1/namespaces/ns/secrets", "", Level.NONE),
    ],
    ids=["user-verb-resource", "other-user", "other-verb", "resource-name", "other-name", "subresource",
         "star-subresource", "resource", "resource-not-subresource", "resource-star", "resource-star-parent",
         "resource-star-other-resource",
         "url-prefix", "url-exact", "url-not-prefix", "group-mismatch", "namespace", "cluster-scoped",
         "whole-group", "no-user-no-match"],
)
def test_the_first_matching_rule_decides_the_level(
    policy: AuditPolicy, user: User | None, method: str, path: str, query: str, level: Level
) -> None:
    values = dict(part.split("=", 1) for part in query.split("&") if part)
    info = parse_request_info(method, path, {key: [value] for key, value in values.items()})
    assert policy.evaluate(user, info).level is level


def test_a_rule_joins_its_omitted_stages_with_the_policy_s(policy: AuditPolicy) -> None:
    cluster_scoped = policy.evaluate(ALICE, parse_request_info("GET", "/api/v1/nodes/n1", {}))
    assert cluster_scoped.omit_stages == {Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED}
    assert cluster_scoped.omit_managed_fields is True
    pods = policy.evaluate(ALICE, parse_request_info("GET", "/api/v1/namespaces/ns/pods", {}))
    assert (pods.omit_stages, pods.omit_managed_fields) == ({Stage.REQUEST_RECEIVED}, False)


def test_no_matching_rule_means_level_none_with_the_policy_s_stages() -> None:
    policy = parse_policy("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Panic]\n"
                          "omitManagedFields: true\nrules: [{level: Metadata, users: [bob]}]")
    decision = policy.evaluate(ALICE, parse_request_info("GET", "/api", {}))
    assert (decision.level, decision.omit_stages, decision.omit_managed_fields) == (Level.NONE, {Stage.PANIC}, True)


def test_a_rule_without_conditions_matches_everything() -> None:
    policy = parse_policy("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: RequestResponse}]")
    assert policy.evaluate(None, parse_request_info("GET", "/metrics", {})).level is Level.REQUEST_RESPONSE


HEADER = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("rules: [{level: Everything}]",
         'rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", '
         '"RequestResponse"'),
        ("rules: [{users: [bob]}]", "rules[0].level: Required value"),
        ("rules: [{level: Metadata, nonResourceURLs: [healthz]}]",
         "rules[0].nonResourceURLs[0]: Invalid value: \"healthz\": non-resource URL rules must begin with a '/' "
         "character"),
        ("rules: [{level: Metadata, nonResourceURLs: ['/a*b']}]",
         "rules[0].nonResourceURLs[0]: Invalid value: \"/a*b\": non-resource URL wildcards '*' must be the final "
         "character of the rule"),
        ("rules: [{level: Metadata, nonResourceURLs: [/x], namespaces: [ns]}]",
         'rules[0].nonResourceURLs: Invalid value: []string{"/x"}: rules cannot apply to both regular resources and '
         "non-resource URLs"),
        ("rules: [{level: Metadata, resources: [{group: apps/v1}]}]",
         'rules[0].resources.group: Invalid value: "apps/v1": a lowercase RFC 1123 subdomain must consist of lower '
         "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
         "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
         "[a-z0-9])?)*')"),
        ("rules: [{level: Metadata, resources: [{resourceNames: [x]}]}]",
         'rules[0].resources.resourceNames: Invalid value: []string{"x"}: using resourceNames requires at least one '
         "resource"),
        ("rules: [{level: Metadata, omitStages: [Done]}]",
         'rules[0].omitStages[0]: Invalid value: "Done": allowed stages are '
         "RequestReceived,ResponseStarted,ResponseComplete,Panic"),
        ("omitStages: [Started]\nrules: [{level: Metadata}]",
         'omitStages[0]: Invalid value: "Started": allowed stages are '
         "RequestReceived,ResponseStarted,ResponseComplete,Panic"),
        ("rules: []", "loaded illegal policy with 0 rules"),
    ],
    ids=["level", "no-level", "url-slash", "url-star", "urls-and-resources", "group", "resource-names",
         "rule-stage", "policy-stage", "no-rules"],
)
def test_invalid_policies_are_refused_with_upstream_messages(body: str, message: str) -> None:
    with pytest.raises(AuditPolicyError) as failure:
        parse_policy(HEADER + body)
    assert str(failure.value) == message


def test_several_errors_are_reported_together() -> None:
    with pytest.raises(AuditPolicyError) as failure:
        parse_policy(HEADER + "rules: [{level: Bad}, {level: Metadata, omitStages: [Nope]}]")
    assert str(failure.value).startswith("[rules[0].level: Unsupported value: \"Bad\"")
    assert 'rules[1].omitStages[0]: Invalid value: "Nope"' in str(failure.value)


def test_only_audit_k8s_io_v1_policies_are_read() -> None:
    with pytest.raises(AuditPolicyError) as failure:
        parse_policy("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: Metadata}]")
    assert str(failure.value) == 'failed decoding: no kind "Policy" is registered for version "audit.k8s.io/v1beta1"'


def test_policy_files_name_themselves_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(HEADER + "rules: []\n")
    with pytest.raises(AuditPolicyError) as failure:
        load_policy_file(str(path))
    assert str(failure.value) == f"loaded illegal policy with 0 rules: from file {path}"
    with pytest.raises(AuditPolicyError, match="failed to read file path"):
        load_policy_file(str(tmp_path / "missing.yaml"))
    with pytest.raises(AuditPolicyError, match=r"^file path not specified$"):
        load_policy_file("")


def test_a_policy_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    assert len(load_policy_file(str(path)).rules) == 10
