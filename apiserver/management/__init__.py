"""Django management commands of the API server (`serve`, and later `compact`, `token`, `dumpkeys`)."""
