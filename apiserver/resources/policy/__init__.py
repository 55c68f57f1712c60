"""Resources of the `policy` group: PodDisruptionBudgets (and the pods/eviction subresource's kind)."""
