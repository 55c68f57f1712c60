"""The aggregator's view of APIService objects: which group-versions another server serves, and how to reach it.

`APIServiceIndex` is fed with APIService objects (the registration hook follows their watch cache) and read on
every request under `/apis/<group>/<version>` by the proxy and by discovery, so its lookups are dict reads. Local
APIServices (`service: null`) are served by this server's own handlers, as upstream's proxy handler delegates them
to the local chain. Those a user created (without the `kube-aggregator.kubernetes.io/automanaged` label that the
built-in and CRD registrations carry) are remembered too: upstream's `/apis` and `/apis/<group>` list every
APIService's group-version, served or not.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apiserver.webhookclient import decode_ca_bundle

DEFAULT_SERVICE_PORT = 443
AUTOMANAGED_LABEL = "kube-aggregator.kubernetes.io/automanaged"


@dataclass(frozen=True, slots=True)
class RemoteAPIService:
    """A group-version served by another server, reached through a Service (upstream's proxyHandlingInfo)."""

    name: str
    group: str
    version: str
    service_namespace: str
    service_name: str
    service_port: int
    ca_bundle: bytes
    insecure_skip_tls_verify: bool
    group_priority_minimum: int
    version_priority: int
    available: bool
    resource_version: str = ""

    @property
    def server_name(self) -> str:
        """The name the backend's serving certificate must carry (`<service>.<namespace>.svc`)."""
        return f"{self.service_name}.{self.service_namespace}.svc"

    @property
    def discovery_path(self) -> str:
        """The discovery document of this group-version, which the backend must serve."""
        return f"/api/{self.version}" if self.name == "v1." else f"/apis/{self.group}/{self.version}"


@dataclass(frozen=True, slots=True)
class LocalAPIService:
    """A user-created APIService without a service: listed in discovery, served (or not) by this server."""

    name: str
    group: str
    version: str
    group_priority_minimum: int
    version_priority: int


def user_local_api_service(obj: Mapping[str, Any]) -> LocalAPIService | None:
    """The LocalAPIService of a user-created local APIService object; None for a remote or automanaged one."""
    spec = obj.get("spec") or {}
    metadata = obj.get("metadata") or {}
    if isinstance(spec.get("service"), dict) or AUTOMANAGED_LABEL in (metadata.get("labels") or {}):
        return None
    return LocalAPIService(str(metadata.get("name") or ""), str(spec.get("group") or ""),
                           str(spec.get("version") or ""), int(spec.get("groupPriorityMinimum") or 0),
                           int(spec.get("versionPriority") or 0))


def remote_api_service(obj: Mapping[str, Any]) -> RemoteAPIService | None:
    """The RemoteAPIService an APIService object describes; None for a local one (no `spec.service`)."""
    spec = obj.get("spec") or {}
    service = spec.get("service")
    if not isinstance(service, dict):
        return None
    metadata = obj.get("metadata") or {}
    return RemoteAPIService(
        name=str(metadata.get("name") or ""), group=str(spec.get("group") or ""),
        version=str(spec.get("version") or ""), service_namespace=str(service.get("namespace") or ""),
        service_name=str(service.get("name") or ""), service_port=int(service.get("port") or DEFAULT_SERVICE_PORT),
        ca_bundle=decode_ca_bundle(spec.get("caBundle")),
        insecure_skip_tls_verify=spec.get("insecureSkipTLSVerify") is True,
        group_priority_minimum=int(spec.get("groupPriorityMinimum") or 0),
        version_priority=int(spec.get("versionPriority") or 0), available=is_available(obj),
        resource_version=str(metadata.get("resourceVersion") or ""),
    )


def is_available(obj: Mapping[str, Any]) -> bool:
    """Whether the APIService's `Available` condition is True."""
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == "Available":
            return condition.get("status") == "True"
    return False


class APIServiceIndex:
    """The remote APIServices by (group, version), replaced entry by entry as their objects change.

    `generation` moves on every change that matters to routing or discovery (added, removed, availability or
    backend changed), so discovery caches can tell when to rebuild. Safe to read from any task; writes come
    from one informer handler.
    """

    def __init__(self) -> None:
        self._remote: dict[tuple[str, str], RemoteAPIService] = {}
        self._by_name: dict[str, tuple[str, str]] = {}
        self._user_local: dict[str, LocalAPIService] = {}
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    def __bool__(self) -> bool:
        """Whether discovery must look here: some remote or user-created local APIService exists."""
        return bool(self._remote) or bool(self._user_local)

    def remote(self, group: str, version: str) -> RemoteAPIService | None:
        """The remote APIService serving `group`/`version`, or None when this server serves it (or nobody)."""
        return self._remote.get((group, version))

    def remotes(self) -> tuple[RemoteAPIService, ...]:
        """Every remote APIService, in name order."""
        return tuple(sorted(self._remote.values(), key=lambda remote: remote.name))

    def user_locals(self) -> tuple[LocalAPIService, ...]:
        """Every user-created local APIService, in name order."""
        return tuple(sorted(self._user_local.values(), key=lambda local: local.name))

    def replace_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Start over from a full list (a relist): entries of APIServices not in `objects` go."""
        listed = {str((obj.get("metadata") or {}).get("name") or ""): obj for obj in objects}
        for name in [name for name in {**self._by_name, **self._user_local} if name not in listed]:
            self.observe("DELETED", {"metadata": {"name": name}})
        for obj in listed.values():
            self.observe("MODIFIED", obj)

    def observe(self, event_type: str, obj: Mapping[str, Any]) -> bool:
        """Apply one informer event (ADDED, MODIFIED, DELETED); True when the index changed."""
        name = str((obj.get("metadata") or {}).get("name") or "")
        remote = None if event_type == "DELETED" else remote_api_service(obj)
        local = None if event_type == "DELETED" else user_local_api_service(obj)
        with self._lock:
            previous_local = self._user_local.pop(name, None)
            if local is not None:
                self._user_local[name] = local
            previous_key = self._by_name.pop(name, None)
            previous = self._remote.pop(previous_key, None) if previous_key is not None else None
            if remote is not None:
                key = (remote.group, remote.version)
                self._remote[key] = remote
                self._by_name[name] = key
            changed = _routing(previous) != _routing(remote) or previous_local != local
            if changed:
                self._generation += 1
            return changed


def _routing(remote: RemoteAPIService | None) -> tuple[object, ...] | None:
    """What routing and discovery depend on (not the resourceVersion)."""
    if remote is None:
        return None
    return (remote.group, remote.version, remote.service_namespace, remote.service_name, remote.service_port,
            remote.ca_bundle, remote.insecure_skip_tls_verify, remote.group_priority_minimum,
            remote.version_priority, remote.available)
