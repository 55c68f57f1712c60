"""The etcd3 storage backend: `EtcdStorage` over etcd's gRPC API (aetcd's generated stubs).

Separate from the other backends because only this package imports grpc and aetcd; `backends.py` loads it lazily,
so a server on SQLite never pays for them. `endpoints.py` owns channels, TLS and failover, `watch.py` the
resuming watch stream, and `backend.py` the `Storage` methods.
"""
