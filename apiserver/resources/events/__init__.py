"""Resources of `events.k8s.io`: the new Event API, served from the same storage as core/v1 events."""
