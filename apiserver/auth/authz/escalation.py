"""RBAC escalation prevention: nobody grants, through a role or a binding, permissions they do not hold.

Re-implements pkg/registry/rbac/escalation_check.go, ConfirmNoEscalation of pkg/registry/rbac/validation and
the policy-based storages of roles, clusterroles, rolebindings and clusterrolebindings:

- `system:masters` may write anything;
- a Role/ClusterRole write passes with the `escalate` verb on it, otherwise every rule it grants must be
  covered by the writer's own rules in the request's namespace (and an aggregationRule needs full authority);
- a binding write passes with the `bind` verb on the referenced role, otherwise the writer must hold every
  permission of that role;
- an update that only touches what the garbage collector changes (ownerReferences, finalizers) always passes.

The registry calls `check_role_write` / `check_binding_write` before storing; they raise the API error the
client gets (Forbidden with upstream's message, or NotFound for a binding to a missing role).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from apiserver.auth.authz.interface import (
    RBAC_GROUP,
    SYSTEM_PRIVILEGED_GROUP,
    Attributes,
    Authorizer,
    AuthorizerError,
    Decision,
    PolicyRule,
    RuleSource,
    UserInfo,
    rules_of,
)
from apiserver.auth.authz.rbac import STORAGE_NAMING, RbacRuleResolver, RoleReferenceError
from apiserver.auth.authz.rbac_rules import (
    compact_rules,
    compact_string,
    covers,
    has_aggregation_rule,
    semantically_equal,
)
from apiserver.meta.errors import Forbidden, go_quote
from apiserver.meta.objects import name_of
from apiserver.meta.validation import aggregate_messages

logger = logging.getLogger(__name__)

ROLE_RESOURCES = frozenset({"roles", "clusterroles"})
BINDING_RESOURCES = frozenset({"rolebindings", "clusterrolebindings"})
AGGREGATION_RULE_MESSAGE = "must have cluster-admin privileges to use the aggregationRule"
FULL_AUTHORITY = (
    PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",)),
    PolicyRule(verbs=("*",), non_resource_urls=("*",)),
)
# Metadata the garbage collector (and the server) rewrites; changing only these never needs a check.
_GC_FIELDS = ("ownerReferences", "finalizers", "selfLink", "managedFields")
_ROLE_REF_RESOURCES = {"ClusterRole": "clusterroles", "Role": "roles"}


def escalation_allowed(user: UserInfo) -> bool:
    """Members of `system:masters` may grant anything (the API server's own loopback identity is one)."""
    return SYSTEM_PRIVILEGED_GROUP in user.groups


async def role_escalation_authorized(
    authorizer: Authorizer, user: UserInfo, *, resource: str, namespace: str, name: str, api_group: str = RBAC_GROUP
) -> bool:
    """Whether the user holds the `escalate` verb on the role being written (the request's own name, "" on
    create, so only rules without resourceNames grant it then)."""
    if api_group != RBAC_GROUP or resource not in ROLE_RESOURCES:
        return False
    attributes = Attributes(user=user, verb="escalate", is_resource_request=True, api_group=api_group,
                            api_version="*", resource=resource, namespace=namespace, name=name)
    return await _allowed(authorizer, attributes)


async def binding_authorized(
    authorizer: Authorizer, user: UserInfo, role_ref: Mapping[str, Any], binding_namespace: str
) -> bool:
    """Whether the user holds the `bind` verb on the referenced role, checked in the binding's namespace ("" for
    a ClusterRoleBinding), so `bind` can be delegated per namespace."""
    resource = _ROLE_REF_RESOURCES.get(role_ref.get("kind", ""))
    if resource is None:
        return False
    attributes = Attributes(user=user, verb="bind", is_resource_request=True, api_group=role_ref.get("apiGroup", ""),
                            api_version="*", resource=resource, namespace=binding_namespace,
                            name=role_ref.get("name", ""))
    return await _allowed(authorizer, attributes)


async def _allowed(authorizer: Authorizer, attributes: Attributes) -> bool:
    try:
        decision, _ = await authorizer.authorize(attributes)
    except AuthorizerError:
        logger.warning("escalation_check_failed", extra={"verb": attributes.verb, "resource": attributes.resource})
        return False
    return decision is Decision.ALLOW


async def confirm_no_escalation(
    user: UserInfo, namespace: str, requested_rules: Iterable[PolicyRule], rule_source: RuleSource
) -> str | None:
    """None when the user's own rules in `namespace` cover `requested_rules`; otherwise upstream's message:

    `user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not
    currently held:` and one compact rule per line, sorted, then any resolution errors.
    """
    owner_rules, errors = await RbacRuleResolver(rule_source, STORAGE_NAMING).collect_rules(user, namespace)
    covered, missing = covers(owner_rules, requested_rules)
    if covered:
        return None
    descriptions = sorted({compact_string(rule) for rule in compact_rules(missing)})
    groups = " ".join(go_quote(group) for group in user.groups)
    message = (f"user {go_quote(user.name)} (groups=[{groups}]) is attempting to grant RBAC permissions not "
               f"currently held:\n" + "\n".join(descriptions))
    if errors:
        message += f"; resolution errors: [{aggregate_messages(errors)}]"
    return message


async def check_role_write(
    *, user: UserInfo, resource: str, namespace: str, request_name: str, new: Mapping[str, Any],
    old: Mapping[str, Any] | None, authorizer: Authorizer, rule_source: RuleSource,
) -> None:
    """Raise Forbidden unless the user may store `new` as a Role/ClusterRole (`old` is the stored object on
    update, None on create). `namespace` and `request_name` are the request's ("" where the URL has none)."""
    if escalation_allowed(user):
        return
    if await role_escalation_authorized(authorizer, user, resource=resource, namespace=namespace, name=request_name):
        return
    if old is not None and is_only_mutating_gc_fields(new, old):
        return
    message = await confirm_no_escalation(user, namespace, rules_of(new), rule_source)
    if message is not None:
        raise Forbidden(resource, name_of(new), message, group=RBAC_GROUP)
    # An aggregationRule can gather any permission, so setting or changing one takes full authority.
    aggregated = has_aggregation_rule(new) or (old is not None and has_aggregation_rule(old))
    if resource != "clusterroles" or not aggregated:
        return
    if await confirm_no_escalation(user, namespace, FULL_AUTHORITY, rule_source) is not None:
        raise Forbidden(resource, name_of(new), AGGREGATION_RULE_MESSAGE, group=RBAC_GROUP)


async def check_binding_write(
    *, user: UserInfo, resource: str, namespace: str, new: Mapping[str, Any], old: Mapping[str, Any] | None,
    authorizer: Authorizer, rule_source: RuleSource,
) -> None:
    """Raise unless the user may store `new` as a RoleBinding (namespace of the URL) or ClusterRoleBinding
    (namespace ""): Forbidden for an escalation, NotFound when the referenced role does not exist, an
    unknown-reason 500 for an unsupported roleRef kind, as upstream answers."""
    if escalation_allowed(user):
        return
    if old is not None and is_only_mutating_gc_fields(new, old):
        return
    role_ref = new.get("roleRef") or {}
    if await binding_authorized(authorizer, user, role_ref, namespace):
        return
    try:
        rules = await RbacRuleResolver(rule_source, STORAGE_NAMING).role_reference_rules(role_ref, namespace)
    except RoleReferenceError as error:
        raise error.error from None
    message = await confirm_no_escalation(user, namespace, rules, rule_source)
    if message is not None:
        raise Forbidden(resource, name_of(new), message, group=RBAC_GROUP)


def is_only_mutating_gc_fields(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Whether `new` equals `old` once ownerReferences, finalizers, selfLink and managedFields are taken from
    `old` (upstream's IsOnlyMutatingGCFields; null and empty count as equal, as its semantic equality does)."""
    new_metadata = dict(new.get("metadata") or {})
    old_metadata = old.get("metadata") or {}
    for key in _GC_FIELDS:
        new_metadata.pop(key, None)
        if key in old_metadata:
            new_metadata[key] = old_metadata[key]
    return semantically_equal({**new, "metadata": new_metadata}, old)
