"""Discovery as real clients use it: kubectl 1.32 (aggregated, with its HTTP cache) and the Python client (legacy).

The expected kubectl output is what `kubectl api-versions` / `api-resources` print against a v1.32 kube-apiserver
with the built-in groups only. The server is the router with the filter chain over plain HTTP on loopback.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import kubernetes

from apiserver.endpoints.discovery import build_discovery_routes
from apiserver.endpoints.health import HealthRegistry
from apiserver.endpoints.router import build_router
from apiserver.endpoints.version import build_version_info
from apiserver.filters.chain import build_chain
from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.registry.catalog import CatalogHolder, Priority, ResourceCatalog, builtin_specs
from apiserver.registry.runtimeconfig import apply_runtime_config
from apiserver.registry.spec import STATUS_VERBS, ResourceSpec, Subresource
from tests.http.asgi_harness import serve_over_http

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

UPSTREAM_API_VERSIONS = """\
admissionregistration.k8s.io/v1
apiextensions.k8s.io/v1
apiregistration.k8s.io/v1
apps/v1
authentication.k8s.io/v1
authorization.k8s.io/v1
autoscaling/v1
autoscaling/v2
batch/v1
certificates.k8s.io/v1
coordination.k8s.io/v1
discovery.k8s.io/v1
events.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1
networking.k8s.io/v1
node.k8s.io/v1
policy/v1
rbac.authorization.k8s.io/v1
scheduling.k8s.io/v1
storage.k8s.io/v1
v1
"""

UPSTREAM_API_RESOURCES = """\
NAME                                SHORTNAMES   APIVERSION                        NAMESPACED   KIND
bindings                                         v1                                true         Binding
componentstatuses                   cs           v1                                false        ComponentStatus
configmaps                          cm           v1                                true         ConfigMap
endpoints                           ep           v1                                true         Endpoints
events                              ev           v1                                true         Event
limitranges                         limits       v1                                true         LimitRange
namespaces                          ns           v1                                false        Namespace
nodes                               no           v1                                false        Node
persistentvolumeclaims              pvc          v1                                true         PersistentVolumeClaim
persistentvolumes                   pv           v1                                false        PersistentVolume
pods                                po           v1                                true         Pod
podtemplates                                     v1                                true         PodTemplate
replicationcontrollers              rc           v1                                true         ReplicationController
resourcequotas                      quota        v1                                true         ResourceQuota
secrets                                          v1                                true         Secret
serviceaccounts                     sa           v1                                true         ServiceAccount
services                            svc          v1                                true         Service
mutatingwebhookconfigurations                    admissionregistration.k8s.io/v1   false        MutatingWebhookConfiguration
validatingadmissionpolicies                      admissionregistration.k8s.io/v1   false        ValidatingAdmissionPolicy
validatingadmissionpolicybindings                admissionregistration.k8s.io/v1   false        ValidatingAdmissionPolicyBinding
validatingwebhookconfigurations                  admissionregistration.k8s.io/v1   false        ValidatingWebhookConfiguration
customresourcedefinitions           crd,crds     apiextensions.k8s.io/v1           false        CustomResourceDefinition
apiservices                                      apiregistration.k8s.io/v1         false        APIService
controllerrevisions                              apps/v1                           true         ControllerRevision
daemonsets                          ds           apps/v1                           true         DaemonSet
deployments                         deploy       apps/v1                           true         Deployment
replicasets                         rs           apps/v1                           true         ReplicaSet
statefulsets                        sts          apps/v1                           true         StatefulSet
selfsubjectreviews                               authentication.k8s.io/v1          false        SelfSubjectReview
tokenreviews                                     authentication.k8s.io/v1          false        TokenReview
localsubjectaccessreviews                        authorization.k8s.io/v1           true         LocalSubjectAccessReview
selfsubjectaccessreviews                         authorization.k8s.io/v1           false        SelfSubjectAccessReview
selfsubjectrulesreviews                          authorization.k8s.io/v1           false        SelfSubjectRulesReview
subjectaccessreviews                             authorization.k8s.io/v1           false        SubjectAccessReview
horizontalpodautoscalers            hpa          autoscaling/v2                    true         HorizontalPodAutoscaler
cronjobs                            cj           batch/v1                          true         CronJob
jobs                                             batch/v1                          true         Job
certificatesigningrequests          csr          certificates.k8s.io/v1            false        CertificateSigningRequest
leases                                           coordination.k8s.io/v1            true         Lease
endpointslices                                   discovery.k8s.io/v1               true         EndpointSlice
events                              ev           events.k8s.io/v1                  true         Event
flowschemas                                      flowcontrol.apiserver.k8s.io/v1   false        FlowSchema
prioritylevelconfigurations                      flowcontrol.apiserver.k8s.io/v1   false        PriorityLevelConfiguration
ingressclasses                                   networking.k8s.io/v1              false        IngressClass
ingresses                           ing          networking.k8s.io/v1              true         Ingress
networkpolicies                     netpol       networking.k8s.io/v1              true         NetworkPolicy
runtimeclasses                                   node.k8s.io/v1                    false        RuntimeClass
poddisruptionbudgets                pdb          policy/v1                         true         PodDisruptionBudget
clusterrolebindings                              rbac.authorization.k8s.io/v1      false        ClusterRoleBinding
clusterroles                                     rbac.authorization.k8s.io/v1      false        ClusterRole
rolebindings                                     rbac.authorization.k8s.io/v1      true         RoleBinding
roles                                            rbac.authorization.k8s.io/v1      true         Role
priorityclasses                     pc           scheduling.k8s.io/v1              false        PriorityClass
csidrivers                                       storage.k8s.io/v1                 false        CSIDriver
csinodes                                         storage.k8s.io/v1                 false        CSINode
csistoragecapacities                             storage.k8s.io/v1                 true         CSIStorageCapacity
storageclasses                      sc           storage.k8s.io/v1                 false        StorageClass
volumeattachments                                storage.k8s.io/v1                 false        VolumeAttachment
"""  # noqa: E501 (kubectl's own column layout)

Exchange = tuple[str, str, str, int]  # path, accept, if-none-match, status


def _recording(app: ASGIApp, exchanges: list[Exchange]) -> ASGIApp:
    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        headers = {name.lower(): value.decode() for name, value in scope["headers"]}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchanges.append((scope["path"], headers.get(b"accept", ""), headers.get(b"if-none-match", ""),
                                  message["status"]))
            await send(message)

        await app(scope, receive, record)

    return recorder


@asynccontextmanager
async def _server(holder: CatalogHolder, exchanges: list[Exchange] | None = None) -> AsyncIterator[str]:
    router = build_router(health=HealthRegistry(), version=build_version_info(),
                          routes=build_discovery_routes(holder, server_address="10.0.0.1:6443"))
    app = build_chain(router)
    async with serve_over_http(_recording(app, exchanges) if exchanges is not None else app) as url:
        yield url


async def _kubectl(url: str, home: Path, *args: str) -> str:
    env = {"HOME": str(home), "KUBECACHEDIR": str(home / "cache"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    process = await asyncio.create_subprocess_exec(
        KUBECTL, "--server", url, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert err == b"", err.decode()
    return out.decode()


def _builtin_holder() -> CatalogHolder:
    return CatalogHolder(ResourceCatalog(builtin_specs()))


async def test_kubectl_api_versions_prints_what_v1_32_prints(tmp_path: Path) -> None:
    async with _server(_builtin_holder()) as url:
        assert await _kubectl(url, tmp_path, "api-versions") == UPSTREAM_API_VERSIONS


async def test_kubectl_api_resources_prints_what_v1_32_prints_and_revalidates_with_etags(tmp_path: Path) -> None:
    exchanges: list[Exchange] = []
    async with _server(_builtin_holder(), exchanges) as url:
        first = await _kubectl(url, tmp_path, "api-resources")
        first_round = list(exchanges)
        second = await _kubectl(url, tmp_path, "api-resources")
    assert first == second == UPSTREAM_API_RESOURCES
    # kubectl reads everything from the two aggregated documents, then revalidates them through its HTTP cache.
    assert {(path, status) for path, _, _, status in first_round} == {("/api", 200), ("/apis", 200)}
    assert all("as=APIGroupDiscoveryList" in accept for _, accept, _, _ in exchanges)
    revalidated = exchanges[len(first_round):]
    assert {(path, status) for path, _, _, status in revalidated} == {("/api", 304), ("/apis", 304)}
    assert all(etag.startswith('"') and len(etag) == 130 for _, _, etag, _ in revalidated)


async def test_kubectl_sees_runtime_config_and_catalog_changes(tmp_path: Path) -> None:
    catalog = apply_runtime_config(ResourceCatalog(builtin_specs()), "batch/v1=false,apps/v1/deployments=false")
    holder = CatalogHolder(catalog)
    async with _server(holder) as url:
        versions = await _kubectl(url, tmp_path, "api-versions")
        apps = await _kubectl(url, tmp_path, "api-resources", "--api-group=apps", "--no-headers", "-o", "name")
        holder.replace(holder.current.with_specs(_widgets()).with_priority("example.com", "v1", Priority(1000, 100)))
        widgets = await _kubectl(url, tmp_path, "api-resources", "--api-group=example.com")
    assert "batch/v1" not in versions.splitlines() and "apps/v1" in versions.splitlines()
    assert apps.split() == ["controllerrevisions.apps", "daemonsets.apps", "replicasets.apps", "statefulsets.apps"]
    assert widgets == (
        "NAME      SHORTNAMES   APIVERSION       NAMESPACED   KIND\n"
        "widgets   wd           example.com/v1   true         Widget\n"
    )


def _widgets() -> ResourceSpec:
    return ResourceSpec(group="example.com", version="v1", kind="Widget", plural="widgets", namespaced=True,
                        short_names=("wd",), subresources=(Subresource("status", "Widget", verbs=STATUS_VERBS),))


async def _with_python_client(url: str, use: Callable[[kubernetes.client.ApiClient], Any]) -> Any:
    def run() -> Any:
        with kubernetes.client.ApiClient(kubernetes.client.Configuration(host=url)) as api_client:
            return use(api_client)

    return await asyncio.to_thread(run)


async def test_python_client_reads_legacy_discovery_with_its_strict_models() -> None:
    async with _server(_builtin_holder()) as url:
        versions = await _with_python_client(url, lambda c: kubernetes.client.CoreApi(c).get_api_versions())
        groups = await _with_python_client(url, lambda c: kubernetes.client.ApisApi(c).get_api_versions())
        apps = await _with_python_client(url, lambda c: kubernetes.client.AppsApi(c).get_api_group())
        core = await _with_python_client(url, lambda c: kubernetes.client.CoreV1Api(c).get_api_resources())
    assert versions.versions == ["v1"]
    assert versions.server_address_by_client_cidrs[0].server_address == "10.0.0.1:6443"
    assert groups.groups[0].name == "apiregistration.k8s.io"
    assert apps.preferred_version.group_version == "apps/v1"
    eviction = next(resource for resource in core.resources if resource.name == "pods/eviction")
    assert (eviction.group, eviction.version, eviction.kind, eviction.singular_name) == ("policy", "v1", "Eviction", "")


async def test_python_dynamic_client_discovers_every_group_version(tmp_path: Path) -> None:
    def discover(api_client: kubernetes.client.ApiClient) -> tuple[Any, Any, Any]:
        client = kubernetes.dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
        return (client.resources.get(api_version="apps/v1", kind="Deployment"),
                client.resources.get(api_version="v1", kind="Node"),
                client.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler"))

    async with _server(_builtin_holder()) as url:
        deployments, nodes, hpas = await _with_python_client(url, discover)
    assert (deployments.name, deployments.namespaced, deployments.short_names) == ("deployments", True, ["deploy"])
    assert "scale" in deployments.subresources
    assert (nodes.name, nodes.namespaced) == ("nodes", False)
    assert hpas.group_version == "autoscaling/v2"


async def test_kubectl_get_raw_prints_the_group_document_verbatim(tmp_path: Path) -> None:
    async with _server(_builtin_holder()) as url:
        raw = await _kubectl(url, tmp_path, "get", "--raw", "/apis/apps")
    assert raw == ('{"kind":"APIGroup","apiVersion":"v1","name":"apps","versions":[{"groupVersion":"apps/v1",'
                   '"version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}\n')
