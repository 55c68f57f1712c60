"""Resources of `node.k8s.io`: RuntimeClasses, the container runtime configurations a pod may ask for."""
