"""Resources of `networking.k8s.io`: Ingresses, IngressClasses and NetworkPolicies."""
