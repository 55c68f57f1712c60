"""Resources of the core group (`/api/v1`): pods, services, namespaces, configmaps, secrets, …

Kept apart from the named groups because the core group is served under `/api`, has no group name in its
apiVersion, and carries upstream's oldest storage layout quirks (`minions`, `services/specs`, `controllers`).
"""
