"""Fixtures for the server tests: Django settings that write nothing into the repository."""
from __future__ import annotations

import os

# ServerConfig reads settings; a fixed secret key keeps settings from creating ./var/secret_key on import.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")
os.environ.setdefault("PILOTHOUSE_SECRET_KEY", "tests-only-not-a-secret")
