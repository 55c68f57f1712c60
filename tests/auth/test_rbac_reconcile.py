"""Reconciliation of the bootstrap RBAC objects with stored ones: add what is missing, keep user additions."""
from __future__ import annotations

import copy
from typing import Any

from apiserver.auth.authz.bootstrappolicy import bootstrap_policy
from apiserver.auth.authz.bootstrappolicy_reconcile import ReconcileOperation, reconcile_binding, reconcile_role

RBAC = "rbac.authorization.k8s.io"

PODS = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
SECRETS = {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}


def expected_role(*rules: dict[str, Any], selectors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    role: dict[str, Any] = {"kind": "ClusterRole", "metadata": {
        "name": "r", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}}
    if rules:
        role["rules"] = list(rules)
    if selectors is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return role


def test_reconcile_creates_a_missing_role() -> None:
    result = reconcile_role(None, expected_role(PODS))
    assert (result.operation, result.role, result.needs_write) == (ReconcileOperation.CREATE, expected_role(PODS), True)


def test_reconcile_leaves_an_up_to_date_role_alone() -> None:
    stored = {**expected_role(PODS), "metadata": {**expected_role()["metadata"], "uid": "u", "resourceVersion": "7"}}
    result = reconcile_role(stored, expected_role(PODS))
    assert (result.operation, result.needs_write, result.role) == (ReconcileOperation.NONE, False, stored)


def test_reconcile_adds_missing_rules_and_keeps_user_additions() -> None:
    stored = expected_role(SECRETS)
    snapshot = copy.deepcopy(stored)
    result = reconcile_role(stored, expected_role(PODS))
    assert result.operation is ReconcileOperation.UPDATE
    assert result.role["rules"] == [SECRETS, PODS]
    assert [rule.to_dict() for rule in result.extra_rules] == [SECRETS]
    assert stored == snapshot


def test_reconcile_can_remove_extra_permissions() -> None:
    result = reconcile_role(expected_role(SECRETS, PODS), expected_role(PODS), remove_extra_permissions=True)
    assert (result.operation, result.role["rules"]) == (ReconcileOperation.UPDATE, [PODS])


def test_reconcile_merges_labels_and_annotations_keeping_stored_values() -> None:
    stored = expected_role(PODS)
    stored["metadata"] = {"name": "r", "labels": {"kubernetes.io/bootstrapping": "mine", "team": "a"}}
    result = reconcile_role(stored, expected_role(PODS))
    assert result.operation is ReconcileOperation.UPDATE
    assert result.role["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "mine", "team": "a"}
    assert result.role["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def test_reconcile_respects_the_autoupdate_opt_out() -> None:
    stored = expected_role(SECRETS)
    stored["metadata"]["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "false"}
    result = reconcile_role(stored, expected_role(PODS))
    assert result.protected and not result.needs_write


def test_reconcile_keeps_aggregated_rules_and_adds_missing_selectors() -> None:
    view = {"matchLabels": {"aggregate-to-view": "true"}}
    extra = {"matchLabels": {"mine": "true"}}
    stored = expected_role(PODS, SECRETS, selectors=[extra])
    result = reconcile_role(stored, expected_role(selectors=[view]))
    assert result.operation is ReconcileOperation.UPDATE
    assert result.role["rules"] == [PODS, SECRETS]
    assert result.role["aggregationRule"] == {"clusterRoleSelectors": [extra, view]}
    unchanged = reconcile_role(expected_role(PODS, selectors=[{"matchLabels": view["matchLabels"],
                                                               "matchExpressions": []}]),
                               expected_role(selectors=[view]))
    assert unchanged.operation is ReconcileOperation.NONE


def test_reconcile_removes_an_aggregation_rule_that_is_no_longer_expected() -> None:
    result = reconcile_role(expected_role(PODS, selectors=[{"matchLabels": {"a": "b"}}]), expected_role(PODS))
    assert result.operation is ReconcileOperation.UPDATE
    assert "aggregationRule" not in result.role


def expected_binding(*subjects: dict[str, Any], role_name: str = "r") -> dict[str, Any]:
    return {"kind": "ClusterRoleBinding", "metadata": {
        "name": "b", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "subjects": list(subjects), "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role_name}}


MASTERS = {"kind": "Group", "apiGroup": RBAC, "name": "system:masters"}
OPS = {"kind": "Group", "apiGroup": RBAC, "name": "ops"}


def test_reconcile_binding_adds_missing_subjects_and_keeps_added_ones() -> None:
    result = reconcile_binding(expected_binding(OPS), expected_binding(MASTERS))
    assert result.operation is ReconcileOperation.UPDATE
    assert result.binding["subjects"] == [OPS, MASTERS]
    assert (result.missing_subjects, result.extra_subjects) == ((MASTERS,), (OPS,))
    assert reconcile_binding(expected_binding(MASTERS, OPS), expected_binding(MASTERS)).operation is \
        ReconcileOperation.NONE


def test_reconcile_binding_can_remove_extra_subjects() -> None:
    result = reconcile_binding(expected_binding(OPS, MASTERS), expected_binding(MASTERS), remove_extra_subjects=True)
    assert result.binding["subjects"] == [MASTERS]


def test_reconcile_binding_recreates_when_the_role_ref_changed() -> None:
    result = reconcile_binding(expected_binding(MASTERS, role_name="old"), expected_binding(MASTERS))
    assert (result.operation, result.binding) == (ReconcileOperation.RECREATE, expected_binding(MASTERS))


def test_reconcile_binding_creates_and_respects_opt_out() -> None:
    assert reconcile_binding(None, expected_binding(MASTERS)).operation is ReconcileOperation.CREATE
    stored = expected_binding(OPS)
    stored["metadata"]["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "false"}
    result = reconcile_binding(stored, expected_binding(MASTERS))
    assert result.protected and not result.needs_write


async def test_reconciling_the_whole_policy_twice_is_a_no_op() -> None:
    policy = bootstrap_policy()
    stored = [reconcile_role(None, role).role for role in policy.cluster_roles]
    assert all(reconcile_role(obj, role).operation is ReconcileOperation.NONE
               for obj, role in zip(stored, bootstrap_policy().cluster_roles, strict=True))
    bindings = [reconcile_binding(None, binding).binding for binding in policy.cluster_role_bindings]
    assert all(reconcile_binding(obj, binding).operation is ReconcileOperation.NONE
               for obj, binding in zip(bindings, bootstrap_policy().cluster_role_bindings, strict=True))
