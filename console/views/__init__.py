"""Console views: one module per page family (login, overview, errors)."""
