"""Resources of `authorization.k8s.io`: create-only access reviews answered by the authorizer, never stored."""
