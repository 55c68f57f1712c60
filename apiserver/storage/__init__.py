"""L1 storage: revisioned bytes with etcd semantics.

Nothing here knows about Kubernetes objects. Backends (SQLite, etcd, memory) implement the `Storage`
protocol of `interface.py`; the watch cache and compactor sit above any of them.
"""
