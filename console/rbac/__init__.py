"""RBAC pages: Roles, ClusterRoles and their bindings, the binding editor, who-can, the access matrix and can-i.

Everything is asked of the API as the logged-in user. The console never reads the authorizer's memory: "who can"
and the local access matrix list the RBAC objects through the user's client and evaluate them here with the
rule semantics of upstream's RBAC authorizer (rules.py), so they can only see what RBAC grants.
"""
