"""The catalog: an immutable snapshot of every served resource, and the holder that swaps snapshots atomically.

Routing, discovery, RBAC, garbage collection and namespace cleanup resolve names through one catalog value, so
a request sees one consistent set of resources even while a CRD or APIService change publishes the next one.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType

from apiserver.registry.spec import ResourceSpec

BUILTIN_PACKAGE = "apiserver.resources"


@dataclass(frozen=True, slots=True)
class Priority:
    """Discovery order: higher `group` first across groups, higher `version` first within a group."""

    group: int
    version: int


# kube-apiserver's APIService priorities for the v1.32 GA group-versions (pkg/controlplane/apiserver/aggregator.go
# and cmd/kube-apiserver): the order of /apis, and of versions within a group (the first is preferred).
BUILTIN_PRIORITIES: Mapping[tuple[str, str], Priority] = {
    ("", "v1"): Priority(18000, 1),
    # Not in upstream's table: the aggregator lists its own group before every other ("it's good to be king").
    ("apiregistration.k8s.io", "v1"): Priority(18000, 15),
    ("apps", "v1"): Priority(17800, 15),
    ("events.k8s.io", "v1"): Priority(17750, 15),
    ("authentication.k8s.io", "v1"): Priority(17700, 15),
    ("authorization.k8s.io", "v1"): Priority(17600, 15),
    ("autoscaling", "v2"): Priority(17500, 30),
    ("autoscaling", "v1"): Priority(17500, 15),
    ("batch", "v1"): Priority(17400, 15),
    ("certificates.k8s.io", "v1"): Priority(17300, 15),
    ("networking.k8s.io", "v1"): Priority(17200, 15),
    ("policy", "v1"): Priority(17100, 15),
    ("rbac.authorization.k8s.io", "v1"): Priority(17000, 15),
    ("storage.k8s.io", "v1"): Priority(16800, 15),
    ("apiextensions.k8s.io", "v1"): Priority(16700, 15),
    ("admissionregistration.k8s.io", "v1"): Priority(16700, 15),
    ("scheduling.k8s.io", "v1"): Priority(16600, 15),
    ("coordination.k8s.io", "v1"): Priority(16500, 15),
    ("node.k8s.io", "v1"): Priority(16300, 15),
    ("discovery.k8s.io", "v1"): Priority(16200, 15),
    ("flowcontrol.apiserver.k8s.io", "v1"): Priority(16100, 21),
}
# What upstream's CRD registration gives every custom resource group-version.
DEFAULT_PRIORITY = Priority(1000, 100)

_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_STABILITY_RANK = {None: 0, "beta": 1, "alpha": 2}


def kube_version_key(version: str) -> tuple[int, int, int, str]:
    """Sort key for versions, best first: GA before beta before alpha, then higher numbers; others last by name.

    The same order as upstream's CompareKubeAwareVersionStrings: v2, v1, v2beta1, v1beta2, v1alpha1, foo.
    """
    match = _KUBE_VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stability, minor = match.groups()
    return (_STABILITY_RANK[stability], -int(major), -int(minor or 0), "")


def builtin_specs(package: str = BUILTIN_PACKAGE) -> tuple[ResourceSpec, ...]:
    """Every `SPEC` / `SPECS` declared in the modules under `package`, in sorted module order.

    The package is imported by name, like a settings entry, so the registry layer never imports the resource
    declarations statically (they sit above it).
    """
    return _collect_specs(package)


@functools.cache
def _collect_specs(package: str) -> tuple[ResourceSpec, ...]:
    root = importlib.import_module(package)
    modules = sorted(info.name for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."))
    specs: list[ResourceSpec] = []
    for name in modules:
        specs.extend(_declared_specs(importlib.import_module(name)))
    return tuple(specs)


def _declared_specs(module: ModuleType) -> tuple[ResourceSpec, ...]:
    declared = getattr(module, "SPECS", ())
    single = getattr(module, "SPEC", None)
    found = (*declared, single) if single is not None else tuple(declared)
    for spec in found:
        if not isinstance(spec, ResourceSpec):
            raise TypeError(f"{module.__name__} declares {spec!r}, not a ResourceSpec")
    return found


class ResourceCatalog:
    """An immutable set of served resources with the lookups routing, discovery and RBAC need.

    Keys are exact (group, version, plural) and (group, version, kind). Group-versions come in upstream's
    discovery order: the core group first, then groups by priority (ties by name), versions best first.
    Raises ValueError at construction when two specs claim the same resource or kind.
    """

    def __init__(
        self, specs: Iterable[ResourceSpec], priorities: Mapping[tuple[str, str], Priority] | None = None
    ) -> None:
        self._specs = tuple(specs)
        self._priorities = dict(BUILTIN_PRIORITIES if priorities is None else priorities)
        self._by_resource: dict[tuple[str, str, str], ResourceSpec] = {}
        self._by_kind: dict[tuple[str, str, str], ResourceSpec] = {}
        for spec in self._specs:
            self._index(spec)
        self._group_versions = self._order_group_versions()

    def _index(self, spec: ResourceSpec) -> None:
        kind_key = (spec.group, spec.version, spec.kind)
        if spec.resource_key in self._by_resource:
            raise ValueError(f"resource {spec.group_resource} {spec.version} is declared twice")
        if kind_key in self._by_kind:
            raise ValueError(f"kind {spec.kind} in {spec.group_version} is declared by two resources")
        self._by_resource[spec.resource_key] = spec
        self._by_kind[kind_key] = spec

    def _order_group_versions(self) -> tuple[tuple[str, str], ...]:
        present = {(spec.group, spec.version) for spec in self._specs}
        group_priority: dict[str, int] = {}
        for group, version in present:
            priority = self.priority(group, version).group
            group_priority[group] = max(priority, group_priority.get(group, priority))

        def order(group_version: tuple[str, str]) -> tuple[int, int, str, int, tuple[int, int, int, str]]:
            group, version = group_version
            core_first = 0 if group == "" else 1
            return (core_first, -group_priority[group], group, -self.priority(group, version).version,
                    kube_version_key(version))

        return tuple(sorted(present, key=order))

    def priority(self, group: str, version: str) -> Priority:
        """The discovery priority of a group-version (custom resource groups get upstream's CRD default)."""
        return self._priorities.get((group, version), DEFAULT_PRIORITY)

    @property
    def specs(self) -> tuple[ResourceSpec, ...]:
        """Every spec, in the order given."""
        return self._specs

    def lookup(self, group: str, version: str, plural: str) -> ResourceSpec | None:
        """The spec a request path names, or None when nothing is served there."""
        return self._by_resource.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceSpec | None:
        """The spec serving a kind in a group-version (an object's apiVersion + kind), or None."""
        return self._by_kind.get((group, version, kind))

    def group_versions(self) -> tuple[tuple[str, str], ...]:
        """Every served (group, version), core first, then in upstream's /apis order."""
        return self._group_versions

    def groups(self) -> tuple[str, ...]:
        """Every served group in discovery order ("" for core comes first)."""
        return tuple(dict.fromkeys(group for group, _ in self._group_versions))

    def versions(self, group: str) -> tuple[str, ...]:
        """The served versions of a group, preferred first; empty when the group is not served."""
        return tuple(version for served, version in self._group_versions if served == group)

    def preferred_version(self, group: str) -> str | None:
        """The version discovery advertises as preferred (the first), or None for an unknown group."""
        versions = self.versions(group)
        return versions[0] if versions else None

    def resources(self, group: str, version: str) -> tuple[ResourceSpec, ...]:
        """The resources of one group-version, sorted by plural as discovery lists them."""
        found = [spec for spec in self._specs if spec.group == group and spec.version == version]
        return tuple(sorted(found, key=lambda spec: spec.plural))

    def resolve(self, name: str, group: str | None = None) -> tuple[ResourceSpec, ...]:
        """Specs a user-typed name may mean, best first: plural, singular, short name or kind, any case.

        `name` may carry its group (`deployments.apps`) when `group` is not given. Results are ordered by
        discovery order, so the first is what kubectl would pick; empty when nothing matches.
        """
        lowered = name.lower()
        if group is None and "." in lowered:
            qualified = self._resolve_qualified(lowered)
            if qualified:
                return qualified
        matches = [spec for spec in self._specs if (group is None or spec.group == group) and _names(spec, lowered)]
        rank = {group_version: index for index, group_version in enumerate(self._group_versions)}
        return tuple(sorted(matches, key=lambda spec: rank[(spec.group, spec.version)]))

    def _resolve_qualified(self, lowered: str) -> tuple[ResourceSpec, ...]:
        # kubectl's forms: `resource.group` and `resource.version.group`.
        resource, _, qualified_group = lowered.partition(".")
        version, _, versioned_group = qualified_group.partition(".")
        if versioned_group and _KUBE_VERSION.match(version):
            versioned = tuple(spec for spec in self.resolve(resource, versioned_group) if spec.version == version)
            if versioned:
                return versioned
        return self.resolve(resource, qualified_group)

    def sharing_storage(self, spec: ResourceSpec) -> tuple[ResourceSpec, ...]:
        """Every served spec stored at the same path (HPAs of v1 and v2, core and events.k8s.io events)."""
        if spec.virtual:
            return (spec,)
        return tuple(other for other in self._specs if not other.virtual and other.storage_path == spec.storage_path)

    def with_specs(self, *specs: ResourceSpec) -> ResourceCatalog:
        """A new catalog where the given specs replace any with the same (group, version, plural)."""
        replaced = {spec.resource_key for spec in specs}
        kept = [spec for spec in self._specs if spec.resource_key not in replaced]
        return ResourceCatalog([*kept, *specs], self._priorities)

    def without(self, group: str, version: str | None = None) -> ResourceCatalog:
        """A new catalog without a group-version (or the whole group when `version` is None)."""
        kept = [spec for spec in self._specs
                if not (spec.group == group and (version is None or spec.version == version))]
        return ResourceCatalog(kept, self._priorities)

    def without_resources(self, *keys: tuple[str, str, str]) -> ResourceCatalog:
        """A new catalog without the specs of the given (group, version, plural) keys (a CRD's versions)."""
        removed = set(keys)
        return ResourceCatalog([spec for spec in self._specs if spec.resource_key not in removed], self._priorities)

    def with_priority(self, group: str, version: str, priority: Priority) -> ResourceCatalog:
        """A new catalog ordering one group-version by `priority` (an APIService's groupPriorityMinimum)."""
        return ResourceCatalog(self._specs, {**self._priorities, (group, version): priority})


def _names(spec: ResourceSpec, lowered: str) -> bool:
    return lowered in (spec.plural, spec.singular, spec.kind.lower(), *spec.short_names)


class CatalogHolder:
    """The current catalog, replaced atomically; readers take `current` once per request and keep it."""

    def __init__(self, catalog: ResourceCatalog) -> None:
        self._catalog = catalog
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def current(self) -> ResourceCatalog:
        """The catalog in force now."""
        return self._catalog

    @property
    def generation(self) -> int:
        """How many times the catalog has been replaced (a cheap change marker for discovery caches)."""
        return self._generation

    def replace(self, catalog: ResourceCatalog) -> ResourceCatalog:
        """Publish a new catalog; returns the one it replaced."""
        with self._lock:
            previous, self._catalog = self._catalog, catalog
            self._generation += 1
            return previous

    def update(self, change: Callable[[ResourceCatalog], ResourceCatalog]) -> ResourceCatalog:
        """Publish `change(current)` without losing a concurrent update; returns the new catalog.

        `change` runs under the holder's lock, so it must be quick and must not call back into the holder.
        """
        with self._lock:
            self._catalog = change(self._catalog)
            self._generation += 1
            return self._catalog
