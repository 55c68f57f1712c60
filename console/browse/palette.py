"""The command palette's data: every browsable resource type (names it answers to) and the user's namespaces."""
from __future__ import annotations

from typing import Any

from console.browse.discovery import Catalog


def palette_entries(catalog: Catalog, namespaces: tuple[str, ...]) -> dict[str, Any]:
    """`{"resources": [{"plural", "singular", "kind", "group", "shortNames", "namespaced", "url"}], "namespaces"}`.

    Every served version's type answers to its names, but each type appears once, in its group's preferred version;
    when two groups share a plural (events, events.events.k8s.io), the core group comes first, as kubectl resolves.
    """
    resources = [{"plural": t.plural, "singular": t.singular, "kind": t.kind, "group": t.group,
                  "shortNames": list(t.short_names), "namespaced": t.namespaced, "url": t.list_url}
                 for t in catalog.preferred()]
    return {"resources": resources, "namespaces": list(namespaces)}
