"""Resources of `rbac.authorization.k8s.io`: roles and bindings, read by the RBAC authorizer."""
