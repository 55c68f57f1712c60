"""Reconciliation of bootstrap RBAC objects with what is stored (upstream's pkg/registry/rbac/reconciliation).

Start-up never takes anything away: missing rules, aggregation selectors, subjects, labels and annotations
are added, while whatever users added stays. An object annotated `rbac.authorization.kubernetes.io/autoupdate:
"false"` is protected and left alone. A binding whose roleRef changed cannot be updated (roleRef is immutable),
so it is recreated. These functions only decide; the caller writes (and, for a recreate, deletes first with a
uid precondition), retrying from a fresh read on conflict as upstream does.
"""
from __future__ import annotations

import copy
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.auth.authz.bootstrappolicy_build import AUTOUPDATE_ANNOTATION
from apiserver.auth.authz.interface import PolicyRule, rules_of
from apiserver.auth.authz.rbac_rules import covers, semantically_equal
from apiserver.meta.objects import JSONDict, annotations_of, labels_of


class ReconcileOperation(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RoleReconciliation:
    """What to do with one Role or ClusterRole. `role` is the object to write (the existing one for NONE)."""

    operation: ReconcileOperation
    role: JSONDict
    missing_rules: tuple[PolicyRule, ...] = ()
    extra_rules: tuple[PolicyRule, ...] = ()
    missing_selectors: tuple[JSONDict, ...] = ()
    extra_selectors: tuple[JSONDict, ...] = ()
    protected: bool = False

    @property
    def needs_write(self) -> bool:
        return not self.protected and self.operation is not ReconcileOperation.NONE


@dataclass(frozen=True, slots=True)
class BindingReconciliation:
    """What to do with one RoleBinding or ClusterRoleBinding. `binding` is the object to write."""

    operation: ReconcileOperation
    binding: JSONDict
    missing_subjects: tuple[JSONDict, ...] = ()
    extra_subjects: tuple[JSONDict, ...] = ()
    protected: bool = False

    @property
    def needs_write(self) -> bool:
        return not self.protected and self.operation is not ReconcileOperation.NONE


def is_protected(existing: Mapping[str, Any]) -> bool:
    """Users opt an object out of reconciliation with the autoupdate annotation set to "false"."""
    return annotations_of(existing).get(AUTOUPDATE_ANNOTATION) == "false"


def reconcile_role(
    existing: Mapping[str, Any] | None, expected: Mapping[str, Any], *, remove_extra_permissions: bool = False
) -> RoleReconciliation:
    """Compare a stored role (None when absent) with the bootstrap one. Never mutates its arguments.

    By default the result is the union of both; `remove_extra_permissions` makes it the expected role's rules
    and selectors exactly (upstream's non-union mode).
    """
    if existing is None:
        return RoleReconciliation(ReconcileOperation.CREATE, copy.deepcopy(dict(expected)),
                                  missing_rules=tuple(rules_of(expected)))
    role = copy.deepcopy(dict(existing))
    changed = _merge_metadata(role, existing, expected)
    _, extra = covers(rules_of(expected), rules_of(existing))
    _, missing = covers(rules_of(existing), rules_of(expected))
    if missing and not remove_extra_permissions:
        role["rules"] = [*(existing.get("rules") or ()), *(rule.to_dict() for rule in missing)]
        changed = True
    elif remove_extra_permissions and (missing or extra):
        role["rules"] = copy.deepcopy(list(expected.get("rules") or ()))
        changed = True
    extra_selectors = _uncovered_selectors(expected.get("aggregationRule"), existing.get("aggregationRule"))
    missing_selectors = _uncovered_selectors(existing.get("aggregationRule"), expected.get("aggregationRule"))
    changed = _reconcile_aggregation(role, existing, expected, missing_selectors, extra_selectors,
                                     remove_extra_permissions) or changed
    return RoleReconciliation(
        ReconcileOperation.UPDATE if changed else ReconcileOperation.NONE, role,
        missing_rules=tuple(missing), extra_rules=tuple(extra), missing_selectors=tuple(missing_selectors),
        extra_selectors=tuple(extra_selectors), protected=is_protected(existing),
    )


def _merge_metadata(target: JSONDict, existing: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    """Add the expected labels and annotations, keeping the stored values; return whether anything changed."""
    metadata = target.setdefault("metadata", {})
    changed = False
    for key, current in (("annotations", annotations_of(existing)), ("labels", labels_of(existing))):
        wanted = (expected.get("metadata") or {}).get(key)
        merged = {**(wanted or {}), **current}
        if merged != dict(current):
            metadata[key] = merged
            changed = True
    return changed


def _uncovered_selectors(owner: Mapping[str, Any] | None, servant: Mapping[str, Any] | None) -> list[JSONDict]:
    """The servant's selectors with no semantically equal selector in the owner's aggregationRule."""
    if servant is None:
        return []
    owned = (owner or {}).get("clusterRoleSelectors") or []
    return [selector for selector in servant.get("clusterRoleSelectors") or []
            if not any(semantically_equal(selector, candidate) for candidate in owned)]


def _reconcile_aggregation(
    role: JSONDict, existing: Mapping[str, Any], expected: Mapping[str, Any],
    missing: Sequence[JSONDict], extra: Sequence[JSONDict], remove_extra: bool,
) -> bool:
    if expected.get("aggregationRule") is None and existing.get("aggregationRule") is not None:
        # The role is not meant to be aggregated at all any more.
        role.pop("aggregationRule", None)
        return True
    if missing and not remove_extra:
        aggregation = role.setdefault("aggregationRule", {})
        aggregation["clusterRoleSelectors"] = [*(aggregation.get("clusterRoleSelectors") or ()),
                                               *copy.deepcopy(list(missing))]
        return True
    if remove_extra and (missing or extra):
        role["aggregationRule"] = copy.deepcopy(expected.get("aggregationRule"))
        return True
    return False


def reconcile_binding(
    existing: Mapping[str, Any] | None, expected: Mapping[str, Any], *, remove_extra_subjects: bool = False
) -> BindingReconciliation:
    """Compare a stored binding (None when absent) with the bootstrap one. Never mutates its arguments."""
    if existing is None:
        return BindingReconciliation(ReconcileOperation.CREATE, copy.deepcopy(dict(expected)),
                                     missing_subjects=tuple(expected.get("subjects") or ()))
    protected = is_protected(existing)
    if _role_ref(expected) != _role_ref(existing):
        return BindingReconciliation(ReconcileOperation.RECREATE, copy.deepcopy(dict(expected)), protected=protected)
    binding = copy.deepcopy(dict(existing))
    changed = _merge_metadata(binding, existing, expected)
    stored: Sequence[Mapping[str, Any]] = existing.get("subjects") or ()
    wanted: Sequence[Mapping[str, Any]] = expected.get("subjects") or ()
    missing, extra = _only_in(wanted, stored), _only_in(stored, wanted)
    if missing and not remove_extra_subjects:
        binding["subjects"] = [*copy.deepcopy(list(stored)), *copy.deepcopy(missing)]
        changed = True
    elif remove_extra_subjects and (missing or extra):
        binding["subjects"] = copy.deepcopy(list(wanted))
        changed = True
    return BindingReconciliation(
        ReconcileOperation.UPDATE if changed else ReconcileOperation.NONE, binding,
        missing_subjects=tuple(missing), extra_subjects=tuple(extra), protected=protected,
    )


def _role_ref(binding: Mapping[str, Any]) -> tuple[str, str, str]:
    ref = binding.get("roleRef") or {}
    return ref.get("apiGroup", ""), ref.get("kind", ""), ref.get("name", "")


def _subject_key(subject: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (subject.get("kind", ""), subject.get("apiGroup", ""), subject.get("name", ""),
            subject.get("namespace", ""))


def _only_in(subjects: Sequence[Mapping[str, Any]], others: Sequence[Mapping[str, Any]]) -> list[JSONDict]:
    """Subjects of the first list absent from the second, each once, in order (upstream's diffSubjectLists)."""
    other_keys = {_subject_key(subject) for subject in others}
    result: list[JSONDict] = []
    seen: set[tuple[str, str, str, str]] = set()
    for subject in subjects:
        key = _subject_key(subject)
        if key not in other_keys and key not in seen:
            seen.add(key)
            result.append(dict(subject))
    return result
