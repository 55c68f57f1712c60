"""build_server: the API server assembled from a ServerConfig — catalog, registry, admission, resource endpoints,
health, lifecycle, router and filter chain.

The result is a plain ASGI app plus the lifecycle that must be started before it is ready; nothing here knows
about Daphne, so the same assembly runs under any ASGI server. The registry exists only once storage is open,
so the resource endpoints and admission reach it through the lifecycle when a request arrives.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apiserver.admission.chain import AdmissionChain, build_admission_chain, enabled_plugin_names
from apiserver.admission.config import read_admission_configuration
from apiserver.admission.interface import NamespaceLister, ObjectLister
from apiserver.admission.plugins.certificates import AccessReview
from apiserver.admission.plugins.rbac_escalation import RBACEscalation
from apiserver.auth.authn.serviceaccount import LEGACY_ISSUER
from apiserver.auth.jwt import KeyFileError, TokenIssuer, load_signing_key
from apiserver.client.transports import InProcessAuthenticator
from apiserver.controllers.base import Controller, ControllerManager
from apiserver.controllers.bootstrap_token_cleaner import BootstrapTokenCleaner
from apiserver.controllers.certificates import CSRSigningController, SigningAuthority
from apiserver.controllers.crd_cleanup import CRDCleanupController
from apiserver.controllers.crd_establishing import CRDEstablishingController
from apiserver.controllers.crd_naming import CRDNamingController
from apiserver.controllers.csr_cleaner import CSRCleanerController
from apiserver.controllers.disruption import DisruptionController
from apiserver.controllers.garbagecollector import GarbageCollector
from apiserver.controllers.leaderelection import LeaderElectionConfig, candidate_identity
from apiserver.controllers.namespace_lifecycle import NamespaceLifecycleController
from apiserver.controllers.podgc import PodGCController
from apiserver.controllers.resourcequota import ResourceQuotaController
from apiserver.controllers.rootcacertpublisher import RootCACertPublisher
from apiserver.controllers.serviceaccounts import ServiceAccountsController
from apiserver.controllers.serviceaccounts_tokens import TokensController
from apiserver.controllers.ttl_after_finished import TTLAfterFinishedController
from apiserver.controllers.vap_status import ValidatingAdmissionPolicyStatusController
from apiserver.endpoints.debug_health import DEBUG_HEALTH_PATH, DebugHealthEndpoint
from apiserver.endpoints.discovery import build_discovery_routes
from apiserver.endpoints.flowcontrol_debug import flowcontrol_debug_route
from apiserver.endpoints.health import HealthRegistry
from apiserver.endpoints.metrics import metrics_app
from apiserver.endpoints.oidc import oidc_routes
from apiserver.endpoints.openapi import build_openapi_routes
from apiserver.endpoints.openapi_crds import catalog_schemas
from apiserver.endpoints.paths import health_paths, paths_app
from apiserver.endpoints.proxy import proxy_handlers
from apiserver.endpoints.resources import ResourceEndpoints, ResourceServer
from apiserver.endpoints.router import Route, build_router
from apiserver.endpoints.version import build_version_info
from apiserver.filters.chain import build_chain
from apiserver.filters.flowcontrol_loop import LoopLoad
from apiserver.http.asgi import ASGIApp
from apiserver.meta.errors import NotFound, ServiceUnavailable
from apiserver.meta.objects import JSONDict, name_of, namespace_of
from apiserver.meta.requestinfo import RequestInfo
from apiserver.observability.metrics import default_metrics, group_resource
from apiserver.registry.binding import binding_answers, binding_stores
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from apiserver.registry.context import ListOptions, RequestContext
from apiserver.registry.eviction import eviction_stores
from apiserver.registry.reviews import Answer, review_answers
from apiserver.registry.runtimeconfig import apply_runtime_config, read_runtime_config
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.registry.virtual import VirtualStore
from apiserver.resources.apiextensions.crd_conversion import WebhookConverter
from apiserver.resources.core.service_store import ServiceRegistry
from apiserver.resources.flowcontrol.producer import CachedFlowControlObjects, ConfigurationProducer
from apiserver.server.apiservices import AggregationLayer
from apiserver.server.bootstrap import SystemNamespacesHook
from apiserver.server.bootstrap_objects import bootstrap_object_hooks, service_ranges
from apiserver.server.bootstrap_rbac import RBACBootstrapHook
from apiserver.server.bootstrap_services import ServiceRanges
from apiserver.server.config import ServerConfig
from apiserver.server.crd_serving import CustomResourceServing
from apiserver.server.healthchecks import register_health_checks
from apiserver.server.healthhistory import HealthHistory
from apiserver.server.healthhistory_series import MetricsSeries
from apiserver.server.identity_lease import identity_lease_hooks
from apiserver.server.lifecycle import CompactorHook, Lifecycle, PostStartHook
from apiserver.server.pki import PKIError, load_certificates, load_private_key
from apiserver.server.security import (
    AuditLogService,
    Security,
    build_security,
    service_account_discovery,
    token_request_stores,
)
from apiserver.storage.backends import StorageOptions
from apiserver.storage.backends import begin_startup_read as begin_backend_read
from apiserver.storage.encryption import EncryptedStorage
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage
from apiserver.storage.metered import MeteredStorage
from apiserver.storage.startup import StartupSnapshot
from apiserver.webhookclient import ServiceResolver, WebhookClient


@dataclass(frozen=True, slots=True)
class ApiServer:
    """The API app and what it needs running. `lifecycle.start()` must finish before /readyz passes."""

    app: ASGIApp
    lifecycle: Lifecycle
    health: HealthRegistry
    catalog: ResourceCatalog | None = None
    controllers: ControllerManager | None = None


def build_server(config: ServerConfig, *, progress: Callable[[str], None] = lambda line: None,
                 startup_snapshot: StartupSnapshot | None = None) -> ApiServer:
    """Assemble the server; opens nothing (storage is opened by `lifecycle.start()`). `startup_snapshot` is the
    read `begin_startup_read(config)` began, which the watch caches then fill from.

    Raises ValueError for a --runtime-config the catalog cannot apply, and SecurityConfigError (a ValueError)
    for a security flag naming an unusable file.
    """
    catalog = apply_runtime_config(ResourceCatalog(builtin_specs()), read_runtime_config(*config.runtime_config))
    registry = _RegistryReference()
    security = build_security(config, registry.get)
    registry.answers = {**review_answers(security.review_backends()), **binding_answers(registry.get)}
    registry.service_ranges = service_ranges(config)
    metrics = default_metrics()
    holder = CatalogHolder(catalog)
    aggregation = AggregationLayer(config, catalog, registry.get,
                                   services=_RegistryObjects(registry.get, ("", "v1", "services"), live=False),
                                   endpoints=_RegistryObjects(registry.get, ("", "v1", "endpoints"), live=False))
    crd_serving = CustomResourceServing(holder, registry.get, webhook_converter=conversion_webhooks(registry.get))
    controllers = ControllerManager([*controller_factories(config, holder, crd_serving=crd_serving.is_serving),
                                     *aggregation.controllers], election=leader_election(config))
    health = HealthRegistry(livez_grace_period=config.livez_grace_period, clock=time.monotonic)
    history, series = HealthHistory(health), MetricsSeries(metrics)  # the console's Health page
    loop_load = LoopLoad() if config.enable_priority_and_fairness else None
    lifecycle = Lifecycle(
        storage_options=storage_options(config, startup_snapshot),
        storage_description=describe_storage(config),
        hooks=[*post_start_hooks(config), SystemNamespacesHook(registry.get), RBACBootstrapHook(registry.get),
               *bootstrap_object_hooks(config, registry.get),
               *identity_lease_hooks(registry.get, hostname=config.hostname), *aggregation.hooks],
        storage_start_timeout=config.storage_start_timeout,
        progress=progress,
        registry_factory=lambda storage: registry.create(catalog, storage, config.etcd_prefix),
        storage_wrapper=lambda storage: MeteredStorage(
            encrypted(storage, security, catalog, config.etcd_prefix), backend_name=config.storage_backend,
            metrics=metrics, type_of=storage_metric_types(catalog, config.etcd_prefix),
        ),
        services=[*([AuditLogService(security.audit_backend)] if security.audit_backend is not None else []),
                  history, series, *([loop_load] if loop_load is not None else [])],
        runners=[*([ConfigurationProducer(registry.get)] if config.enable_priority_and_fairness else []),
                 crd_serving, controllers],
    )
    register_health_checks(health, lifecycle)
    health.mark_started()  # --livez-grace-period counts from here
    admission = build_admission_chain(
        enabled_plugin_names(config.enable_admission_plugins, config.disable_admission_plugins),
        AdmissionContext(registry.get, lifecycle.is_registry_ready, security.access_review,
                         catalog=lambda: holder.current),
        read_admission_configuration(config.admission_control_config_file),
    )
    admission = AdmissionChain([*admission.plugins, RBACEscalation(security.check_rbac_write)])
    resources = ResourceEndpoints(ResourceServer(
        catalog=holder, registry=registry.get, admission=admission, stopping=lifecycle.stopping,
        subresources={**token_request_stores(config, security, registry.get), **binding_stores(registry.get),
                      **eviction_stores(registry.get)},
        connect=proxy_handlers(allow_loopback=config.proxy_allow_loopback_targets),
    ))
    discovery = build_discovery_routes(holder, server_address=server_address(config), resources=resources,
                                       aggregator=aggregation.discovery)
    index = paths_app(holder, lambda: [*health_paths(health), *NON_RESOURCE_PATHS,
                                       *aggregation.discovery.root_paths()])
    router = build_router(
        health=health, version=build_version_info(), resources=resources, fallback=index,
        routes=[*discovery, *build_openapi_routes(holder, catalog_schemas(holder), remote=aggregation.parts.openapi),
                Route("/metrics", metrics_app(metrics.registry)), flowcontrol_debug_route(),
                *issuer_discovery_routes(config, security),
                Route(DEBUG_HEALTH_PATH, DebugHealthEndpoint(history=history, series=series,
                                                             storage=lifecycle.storage.get,
                                                             backend_name=config.storage_backend))],
    )

    def served_resource(info: RequestInfo) -> bool:
        return holder.current.lookup(info.api_group, info.api_version, info.resource) is not None

    flow_control = {"flow_control_objects": CachedFlowControlObjects(registry.get),
                    "flow_control_loop_load": loop_load} if loop_load is not None else {}
    app = build_chain(aggregation.proxy(router), metrics=metrics, served_resource=served_resource,
                      **filter_options(config, security), **flow_control)
    controllers.serve_through(app)
    return ApiServer(app=app, lifecycle=lifecycle, health=health, catalog=catalog, controllers=controllers)


def conversion_webhooks(registry: Callable[[], Registry]) -> Callable[[Mapping[str, Any]], WebhookConverter]:
    """CRD conversion webhook clients: Services resolved through their Endpoints (this server has no kube-proxy,
    so conversion calls route to endpoints as admission webhook calls do)."""
    client = WebhookClient(ServiceResolver(_RegistryObjects(registry, ("", "v1", "services"), live=False),
                                           _RegistryObjects(registry, ("", "v1", "endpoints"), live=False),
                                           endpoint_routing=True))
    return lambda crd: WebhookConverter(crd, client)


def filter_options(config: ServerConfig, security: Security) -> dict[str, object]:
    """The options of the request timeout and the security filters (filters/chain.py)."""
    timeout = {"request_timeout": config.request_timeout} if config.request_timeout > 0 else {}
    return {
        **timeout,
        "authenticator": InProcessAuthenticator(security.authenticator), "strip_headers": security.strip_headers,
        "authorizer": security.authorizer, "audit_policy": security.audit_policy,
        "audit_backend": security.audit_backend, "max_requests_inflight": config.max_requests_inflight,
        "max_mutating_requests_inflight": config.max_mutating_requests_inflight,
        "flow_control_wait_limit": config.request_timeout / 4 if config.request_timeout > 0 else 15.0,
    }


def encrypted(storage: Storage, security: Security, catalog: ResourceCatalog, prefix: str) -> Storage:
    """`storage` behind --encryption-provider-config's transformers (inside the metered storage, so storage
    metrics include encryption, as upstream's do); unchanged without a configuration."""
    if security.encryption is None:
        return storage
    return EncryptedStorage(storage, security.encryption, prefix=prefix,
                            resource_of=storage_metric_types(catalog, prefix))


def issuer_discovery_routes(config: ServerConfig, security: Security) -> list[Route]:
    """`/.well-known/openid-configuration` and `/openid/v1/jwks`, when there are keys to publish."""
    documents = service_account_discovery(config, security, server_address(config))
    return oidc_routes(*documents) if documents is not None else []


# Served paths outside discovery and health, listed by `GET /` as upstream lists its own.
NON_RESOURCE_PATHS = ("/metrics", "/openapi/v2", "/openapi/v3", "/openapi/v3/", "/version")


def storage_metric_types(catalog: ResourceCatalog, prefix: str) -> Callable[[str], str]:
    """key → the `type` label of storage metrics: upstream's group-resource (`deployments.apps`, `nodes`)."""
    by_path = {
        spec.storage_path: group_resource(spec.group, spec.plural) for spec in catalog.specs if spec.storage_path
    }
    root = prefix.rstrip("/") + "/"

    def type_of(key: str) -> str:
        if not key.startswith(root):
            return ""
        parts = key[len(root):].split("/")
        for length in (2, 1):
            if (found := by_path.get("/".join(parts[:length]))) is not None:
                return found
        if len(parts) > 2 and "." in parts[0]:  # a custom resource, stored at `<group>/<plural>`
            return group_resource(parts[0], parts[1])
        return parts[0]

    return type_of


def server_address(config: ServerConfig) -> str:
    """The `host:port` discovery tells clients to use (Go's net.JoinHostPort)."""
    host = config.advertise_address
    return f"[{host}]:{config.secure_port}" if ":" in host else f"{host}:{config.secure_port}"


class _RegistryReference:
    """The registry of a running server: made by the lifecycle when storage opens, read by requests.

    `answers` are the review answers (by group and plural) its virtual stores get when it is made.
    """

    def __init__(self) -> None:
        self.service_ranges = ServiceRanges()
        self._registry: Registry | None = None
        self.answers: dict[tuple[str, str], Answer] = {}

    def create(self, catalog: ResourceCatalog, storage: Storage, prefix: str) -> Registry:
        registry = ServiceRegistry(catalog, storage, prefix=prefix,
                                   allocators=self.service_ranges.allocators(storage, prefix))
        for spec in catalog.specs:
            store = registry.store(spec)
            if isinstance(store, VirtualStore) and (answer := self.answers.get((spec.group, spec.plural))):
                store.answer_with(answer)
        self._registry = registry
        return registry

    def get(self) -> Registry:
        if self._registry is None:
            raise ServiceUnavailable("the server is not ready to serve resources")
        return self._registry


class AdmissionContext:
    """What admission plugins read, backed by the registry: namespaces from the cache and from storage, and the
    server's access review (the certificate plugins ask whether a user may approve or sign for a signer)."""

    def __init__(
        self, registry: Callable[[], Registry], is_ready: Callable[[], bool], access_review: AccessReview,
        catalog: Callable[[], ResourceCatalog] | None = None,
    ) -> None:
        self._registry = registry
        self._is_ready = is_ready
        self._access_review = access_review
        self._catalog = catalog

    def current_catalog(self) -> ResourceCatalog | None:
        """The served resources (admission webhooks' matchPolicy Equivalent); None when not given."""
        return self._catalog() if self._catalog is not None else None

    @property
    def access_review(self) -> AccessReview:
        return self._access_review

    @property
    def namespaces(self) -> NamespaceLister:
        lister: NamespaceLister = self._registry().namespaces
        return lister

    @property
    def live_namespaces(self) -> NamespaceLister:
        return _StoredNamespaces(self._registry)

    def is_ready(self) -> bool:
        return self._is_ready()

    def objects(self, group: str, version: str, plural: str) -> ObjectLister:
        return _RegistryObjects(self._registry, (group, version, plural), live=False)

    def live_objects(self, group: str, version: str, plural: str) -> ObjectLister:
        return _RegistryObjects(self._registry, (group, version, plural), live=True)

    async def write_status(self, group: str, version: str, plural: str, obj: JSONDict) -> JSONDict:
        """Admission's own status writes (ResourceQuota's usage), through the store with obj's resourceVersion."""
        store = self._registry().store_for(group, version, plural)
        if not isinstance(store, ResourceStore):
            raise NotFound(plural, name_of(obj), group=group)
        namespace = namespace_of(obj)
        stored, _ = await store.update(namespace, name_of(obj), obj, RequestContext(namespace=namespace),
                                       subresource="status")
        written: JSONDict = stored.obj
        return written


class _RegistryObjects:
    """One resource for admission: from its watch cache (storage while the cache is not ready) or, when `live`,
    from storage. A resource that is not served reads as empty."""

    def __init__(self, registry: Callable[[], Registry], resource: tuple[str, str, str], *, live: bool) -> None:
        self._registry = registry
        self._resource = resource
        self._live = live

    def _store(self) -> ResourceStore | None:
        store = self._registry().store_for(*self._resource)
        return store if isinstance(store, ResourceStore) else None

    async def get(self, namespace: str, name: str) -> JSONDict | None:
        store = self._store()
        if store is None:
            return None
        key = store.key(namespace, name)
        cache = None if self._live else self._registry().cache_for(store.spec.storage_path)
        if cache is not None:
            try:
                entry = cache.get(key)
            except StorageError:
                return await self._registry().read_live(key)
            return None if entry is None or entry.decoded is None else entry.decoded.obj
        return await self._registry().read_live(key)

    async def list(self, namespace: str) -> list[JSONDict]:
        store = self._store()
        if store is None:
            return []
        cache = None if self._live else self._registry().cache_for(store.spec.storage_path)
        if cache is not None:
            start = store.key(namespace, "")  # the namespace's prefix, or the resource's for ""
            try:
                page = cache.list(start=start, end=start[:-1] + chr(ord("/") + 1))
            except StorageError:
                pass
            else:
                return [entry.decoded.obj for entry in page.items if entry.decoded is not None]
        result = await store.list(namespace, ListOptions())
        return [item.obj for item in result.items]


class _StoredNamespaces:
    """Namespaces read from storage through their store (a consistent read), for admission's live lookups."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    async def get(self, name: str) -> JSONDict | None:
        store = self._registry().store_for("", "v1", "namespaces")
        if store is None:
            return None
        try:
            stored = await store.get("", name)
        except NotFound:
            return None
        namespace: JSONDict = stored.obj
        return namespace



def storage_options(config: ServerConfig, startup_snapshot: StartupSnapshot | None = None) -> StorageOptions:
    return StorageOptions(
        backend=config.storage_backend,
        sqlite_path=str(config.sqlite_path),
        etcd_servers=config.etcd_servers,
        etcd_cafile=config.etcd_cafile,
        etcd_certfile=config.etcd_certfile,
        etcd_keyfile=config.etcd_keyfile,
        startup_snapshot=startup_snapshot,
    )


def begin_startup_read(config: ServerConfig) -> StartupSnapshot | None:
    """Begin reading every stored object on a thread, for the watch caches to fill from once storage is open
    (storage/startup.py); None on a backend without such a read (SQLite). Call it first thing: the storage works
    on the read while the process imports and assembles itself."""
    return begin_backend_read(storage_options(config), config.etcd_prefix.rstrip("/") + "/")


def describe_storage(config: ServerConfig) -> str:
    if config.storage_backend == "sqlite":
        return f"sqlite {config.sqlite_path}"
    if config.storage_backend == "etcd3":
        return f"etcd3 {','.join(config.etcd_servers)} (prefix {config.etcd_prefix})"
    return config.storage_backend


def post_start_hooks(config: ServerConfig) -> list[PostStartHook]:
    hooks: list[PostStartHook] = []
    if config.etcd_compaction_interval > 0:
        hooks.append(CompactorHook(config.etcd_compaction_interval))
    return hooks


def controller_factories(config: ServerConfig, catalog: CatalogHolder | None = None, *,
                         crd_serving: Callable[[str], bool] | None = None) -> list[Callable[[], Controller]]:
    """The controllers the server runs (controllers/base.py), each made when the server starts. The garbage
    collector follows `catalog` (the served resources, as CRDs change them); without one it runs on the built-ins.
    `crd_serving(name)` tells the establishing controller whether a CRD's resource is served yet."""
    holder = catalog if catalog is not None else CatalogHolder(ResourceCatalog(builtin_specs()))
    return [
        CRDNamingController,
        lambda: CRDEstablishingController(crd_serving),
        CRDCleanupController,
        lambda: CSRSigningController(signing_authority(config)),
        NamespaceLifecycleController,
        DisruptionController,
        ServiceAccountsController,
        ResourceQuotaController,
        lambda: TokensController(legacy_token_issuer(config), root_ca(config)),
        lambda: GarbageCollector(holder),
        lambda: RootCACertPublisher(root_ca(config)),
        CSRCleanerController,
        BootstrapTokenCleaner,
        TTLAfterFinishedController,
        PodGCController,
        ValidatingAdmissionPolicyStatusController,
    ]


def leader_election(config: ServerConfig) -> LeaderElectionConfig | None:
    """kube-controller-manager's leader election from the --leader-elect* flags; None when disabled."""
    if not config.leader_elect:
        return None
    return LeaderElectionConfig(
        identity=candidate_identity(config.hostname), lease_duration=config.leader_elect_lease_duration,
        renew_deadline=config.leader_elect_renew_deadline, retry_period=config.leader_elect_retry_period,
        name=config.leader_elect_resource_name, namespace=config.leader_elect_resource_namespace,
    )


def signing_authority(config: ServerConfig) -> SigningAuthority | None:
    """The cluster CA (<data-dir>/pki/ca.crt and ca.key) as the CSR signer; None without a readable CA key."""
    try:
        certificate = load_certificates(config.pki_dir / "ca.crt")[0]
        key = load_private_key(config.pki_dir / "ca.key")
    except (OSError, ValueError, IndexError, PKIError):
        return None
    return SigningAuthority(certificate, key)


def legacy_token_issuer(config: ServerConfig) -> TokenIssuer | None:
    """The signer of legacy Secret tokens: the ServiceAccount signing key; None when there is none."""
    try:
        return TokenIssuer(load_signing_key(config.service_account_signing_key_path), LEGACY_ISSUER)
    except (OSError, ValueError, KeyFileError):
        return None


def root_ca(config: ServerConfig) -> bytes:
    """What token Secrets carry as `ca.crt`: the cluster CA (upstream's --root-ca-file)."""
    try:
        return (config.pki_dir / "ca.crt").read_bytes()
    except OSError:
        return b""
