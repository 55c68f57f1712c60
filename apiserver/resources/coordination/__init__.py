"""Resources of `coordination.k8s.io`: Leases for leader election and heartbeats."""
