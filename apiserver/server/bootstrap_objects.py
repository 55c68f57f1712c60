"""Objects a cluster starts with besides namespaces and RBAC, as post-start hooks with upstream's names.

- `scheduling/bootstrap-system-priority-classes`: system-node-critical and system-cluster-critical, created
  when missing (pkg/registry/scheduling/rest).
- `start-cluster-authentication-info-controller`: `extension-apiserver-authentication` in kube-system with the
  client CA and the front-proxy (`--requestheader-*`) settings, kept current (rewritten every `interval` when it
  differs), readable by extension servers through the bootstrap Role `extension-apiserver-authentication-reader`.
- `bootstrap-cluster-info` (ours; kubeadm writes it): `cluster-info` in kube-public, a kubeconfig with the server
  address and CA data, readable by anonymous users through the Role and RoleBinding
  `kubeadm:bootstrap-signer-clusterinfo`.

Every write goes through the registry's stores, as the RBAC bootstrap does, and every step is idempotent.
`bootstrap_object_hooks` lists the hooks of this file and of bootstrap_services.py and
bootstrap_kubernetes_service.py in the order they must run.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apiserver.meta.errors import AlreadyExists, ApiError, Conflict, NotFound
from apiserver.registry.context import RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.resources.scheduling.priorityclasses import SYSTEM_PRIORITY_CLASSES
from apiserver.server.bootstrap_kubernetes_service import KubernetesServiceHook
from apiserver.server.bootstrap_services import ServiceRanges, ServiceRepairHook
from apiserver.server.config import ServerConfig
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
AUTHENTICATION_CONFIGMAP = "extension-apiserver-authentication"
CLUSTER_INFO = "cluster-info"
CLUSTER_INFO_ROLE = "kubeadm:bootstrap-signer-clusterinfo"
RBAC = "rbac.authorization.k8s.io"
AUTHENTICATION_INTERVAL = 60.0


def service_ranges(config: ServerConfig) -> ServiceRanges:
    return ServiceRanges(config.service_cluster_ip_range, config.service_node_port_range)


def bootstrap_object_hooks(config: ServerConfig, registry: Callable[[], Registry]) -> list[Any]:
    """The hooks of the Service ranges, the `kubernetes` Service, priority classes and the published
    authentication objects, in order (the repair creates the ranges the `kubernetes` Service allocates from)."""
    ranges = service_ranges(config)
    host = config.advertise_address
    server = f"https://{f'[{host}]' if ':' in host else host}:{config.secure_port}"
    return [
        ServiceRepairHook(registry),
        KubernetesServiceHook(registry, cluster_ip=lambda: ranges.kubernetes_service_ip,
                              advertise_address=config.advertise_address, secure_port=config.secure_port,
                              prefix=config.etcd_prefix),
        PriorityClassesHook(registry),
        ClusterAuthenticationInfoHook(registry, lambda: authentication_data(config)),
        ClusterInfoHook(registry, lambda: cluster_info_kubeconfig(server, _read(config.pki_dir / "ca.crt")
                                                                   or _read(config.client_ca_path))),
    ]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _store(registry: Callable[[], Registry], group: str, plural: str) -> ResourceStore:
    store = registry().store_for(group, "v1", plural)
    if not isinstance(store, ResourceStore):
        raise RuntimeError(f"{plural} are not served: cannot create the bootstrap objects")
    return store


async def create_if_missing(store: ResourceStore, obj: JSONDict) -> bool:
    """Create `obj` unless an object of its name exists; True when this call created it."""
    meta = obj["metadata"]
    namespace = str(meta.get("namespace") or "")
    try:
        await store.get(namespace, meta["name"])
        return False
    except NotFound:
        pass
    try:
        await store.create(namespace, obj, RequestContext(namespace=namespace))
    except AlreadyExists:
        return False
    return True


async def ensure_data(store: ResourceStore, namespace: str, name: str, data: dict[str, str], *,
                      replace: bool) -> None:
    """A ConfigMap whose data holds `data` (and, with `replace`, nothing else); conflicts retry once."""
    for _ in range(2):
        try:
            current = (await store.get(namespace, name)).copy()
        except NotFound:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
                    "data": data}
            if await create_if_missing(store, body):
                return
            continue
        wanted = data if replace else {**(current.get("data") or {}), **data}
        if current.get("data") == wanted:
            return
        current["data"] = wanted
        try:
            await store.update(namespace, name, current, RequestContext(namespace=namespace))
            return
        except (Conflict, NotFound):
            continue


class PriorityClassesHook:
    """Post-start hook `scheduling/bootstrap-system-priority-classes`."""

    name = "scheduling/bootstrap-system-priority-classes"

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    async def start(self, storage: Storage) -> None:
        store = _store(self._registry, "scheduling.k8s.io", "priorityclasses")
        for priority_class in SYSTEM_PRIORITY_CLASSES:
            if await create_if_missing(store, json.loads(json.dumps(priority_class))):
                logger.info("created priority class", extra={"priority_class": priority_class["metadata"]["name"]})

    async def stop(self) -> None:
        return None


def _json_list(values: Sequence[str]) -> str:
    """Go's json.Marshal of a []string flag value: `null` when unset."""
    return json.dumps(list(values), separators=(",", ":")) if values else "null"


def authentication_data(config: ServerConfig) -> dict[str, str]:
    """The data of `extension-apiserver-authentication` (upstream's getConfigMapDataFor)."""
    data: dict[str, str] = {}
    if client_ca := _read(config.client_ca_path):
        data["client-ca-file"] = client_ca.decode()
    if not config.requestheader_client_ca_file:
        return data
    if request_header_ca := _read(Path(config.requestheader_client_ca_file)):
        data["requestheader-username-headers"] = _json_list(config.requestheader_username_headers)
        data["requestheader-group-headers"] = _json_list(config.requestheader_group_headers)
        data["requestheader-extra-headers-prefix"] = _json_list(config.requestheader_extra_headers_prefix)
        data["requestheader-client-ca-file"] = request_header_ca.decode()
        data["requestheader-allowed-names"] = _json_list(config.requestheader_allowed_names)
    return data


class ClusterAuthenticationInfoHook:
    """Post-start hook `start-cluster-authentication-info-controller` (see the module docstring)."""

    name = "start-cluster-authentication-info-controller"

    def __init__(self, registry: Callable[[], Registry], data: Callable[[], dict[str, str]], *,
                 interval: float = AUTHENTICATION_INTERVAL) -> None:
        self._registry = registry
        self._data = data
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def sync(self) -> None:
        store = _store(self._registry, "", "configmaps")
        await ensure_data(store, "kube-system", AUTHENTICATION_CONFIGMAP, self._data(), replace=True)

    async def start(self, storage: Storage) -> None:
        await self.sync()
        self._task = asyncio.create_task(self._run(), name="cluster-authentication-info")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sync()
            except (ApiError, StorageError) as error:
                logger.warning("cluster_authentication_info_failed", extra={"error": str(error)})

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def cluster_info_kubeconfig(server: str, ca_pem: bytes) -> str:
    """kubeadm's bootstrap kubeconfig: one nameless cluster, as clientcmd.Write prints it."""
    ca = base64.b64encode(ca_pem).decode()
    return ("apiVersion: v1\nclusters:\n- cluster:\n"
            f"    certificate-authority-data: {ca}\n    server: {server}\n"
            '  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n')


def cluster_info_role() -> JSONDict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role",
            "metadata": {"name": CLUSTER_INFO_ROLE, "namespace": "kube-public"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                       "resourceNames": [CLUSTER_INFO]}]}


def cluster_info_role_binding() -> JSONDict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
            "metadata": {"name": CLUSTER_INFO_ROLE, "namespace": "kube-public"},
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "system:anonymous"}],
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": CLUSTER_INFO_ROLE}}


class ClusterInfoHook:
    """Post-start hook `bootstrap-cluster-info` (see the module docstring). The `kubeconfig` key follows the
    server's address and CA; other keys (the bootstrap signer's `jws-kubeconfig-*`) are kept."""

    name = "bootstrap-cluster-info"

    def __init__(self, registry: Callable[[], Registry], kubeconfig: Callable[[], str]) -> None:
        self._registry = registry
        self._kubeconfig = kubeconfig

    async def start(self, storage: Storage) -> None:
        configmaps = _store(self._registry, "", "configmaps")
        await ensure_data(configmaps, "kube-public", CLUSTER_INFO, {"kubeconfig": self._kubeconfig()}, replace=False)
        await create_if_missing(_store(self._registry, RBAC, "roles"), cluster_info_role())
        await create_if_missing(_store(self._registry, RBAC, "rolebindings"), cluster_info_role_binding())

    async def stop(self) -> None:
        return None
