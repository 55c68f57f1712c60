"""Resources of `admissionregistration.k8s.io`: admission webhooks and validating admission policies."""
