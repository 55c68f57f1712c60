"""Resources of `certificates.k8s.io`: certificate signing requests and their approval."""
