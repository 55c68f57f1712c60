"""L5 client: the API client used by controllers, the console and tests (in-process or over HTTPS)."""
