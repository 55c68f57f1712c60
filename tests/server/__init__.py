"""Tests of `manage.py serve`: flags, configuration, PKI, TLS serving, composition and lifecycle."""
