"""The Events stream page: cluster Events filtered by namespace, involved-object kind, type and reason, kept live
by the live-tail WebSocket (console.live). Separate from the resource list pages because it is newest-first,
filtered by field selectors the page builds itself, and capped to the most recent rows."""
