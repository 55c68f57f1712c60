"""L2 registry: generic behaviour for any resource (specs, strategies, the generic store, the catalog).

Knows Kubernetes objects but not HTTP; turns storage errors into API errors. Filled in by the REST API issue.
"""
