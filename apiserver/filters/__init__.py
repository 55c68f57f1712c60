"""L5a filters: one cross-cutting concern per module, each a pure ASGI middleware.

Filters check their options when built, pass scopes that are not HTTP straight through, and never know which
handler sits inside them. Their order is written once, in `chain.py::FILTERS`.
"""
