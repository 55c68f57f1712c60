"""Resources of `authentication.k8s.io`: create-only reviews answered on the spot, never stored."""
