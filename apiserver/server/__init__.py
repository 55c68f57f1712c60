"""L7 assembly and lifecycle: configuration, PKI, TLS serving on Daphne, and the order things start and stop.

This is the only layer that knows every other one: it builds the API app from the lower layers
(`assembly.py`), owns what runs in the background (`lifecycle.py`), and serves it over TLS (`daphne.py`, `tls.py`).
"""
