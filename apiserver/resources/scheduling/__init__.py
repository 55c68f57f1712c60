"""Resources of `scheduling.k8s.io`: PriorityClasses."""
