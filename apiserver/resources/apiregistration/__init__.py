"""Resources of `apiregistration.k8s.io`: APIServices, which register local and aggregated group-versions."""
