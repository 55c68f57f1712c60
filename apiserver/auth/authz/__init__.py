"""Authorization: who may do what, decided from request attributes and RBAC objects.

Kept apart from authentication because it only consumes a user (name, uid, groups, extra), never credentials.
It holds the authorizers (RBAC, AlwaysAllow/AlwaysDeny, the `system:masters` short-circuit and their union),
the rule evaluation behind SelfSubjectRulesReview, RBAC escalation prevention for role and binding writes,
the bootstrap RBAC policy with its reconciliation, and upstream's Forbidden messages. It reads cluster state
only through the read-only `RuleSource` protocol, which the server assembly backs with watch caches.
"""
