"""L3 auth: authenticators, authorizers and impersonation; below HTTP, so it sees requests via AuthRequest."""
