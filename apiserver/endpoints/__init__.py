"""L5b endpoints: the handlers at the centre of the filter chain, and the router that picks one.

Non-resource paths (health, version, later discovery and OpenAPI) are a table keyed by path prefix in
`router.py`; resource requests will be dispatched from the RequestInfo the filters computed.
"""
