"""Common Expression Language for the API server: Kubernetes environments, libraries and cost limits."""
