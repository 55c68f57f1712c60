"""L0 Kubernetes vocabulary ("apimachinery"): values and pure functions, no I/O.

Everything above may import from here and nothing here imports from above: the request's `RequestInfo`,
the `ApiError` hierarchy and its `Status` rendering live here so that authorization, admission, the
registry and the HTTP layer can all share them without depending on one another.
"""
