"""The embedded SQLite backend: kine's log-table model of etcd over one SQLite file.

Separate from the other backends because it owns threads and a file: one writer thread with group commit,
reader threads, and a poller that turns committed rows into watch events. Nothing here knows about Kubernetes.
"""
