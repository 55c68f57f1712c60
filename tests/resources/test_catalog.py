"""The built-in catalog against an independent reference (lightkube-models 1.32) and upstream facts.

lightkube-models is generated from the v1.32 OpenAPI spec. Its resource modules are read with `ast`, never
imported, so the test needs no lightkube runtime. Where the OpenAPI spec and a real v1.32 server differ, the
difference is listed explicitly below with the reason.
"""
from __future__ import annotations

import ast
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs, kube_version_key
from apiserver.registry.spec import ResourceSpec, Subresource, Verb

SPECS = builtin_specs()
CATALOG = ResourceCatalog(SPECS)

LIGHTKUBE_VERBS = {"post": "create", "put": "update", "global_list": "list", "global_watch": "watch"}

# Served by a real v1.32 apiserver although the OpenAPI spec (hence lightkube) cannot show them: upstream's
# Connecter subresources take HTTP methods, not typed operations.
CONNECT_SUBRESOURCES = {
    ("", "v1", "pods"): {"attach", "exec", "portforward", "proxy"},
    ("", "v1", "nodes"): {"proxy"},
    ("", "v1", "services"): {"proxy"},
}
# In the OpenAPI spec (which is generated with every feature gate on) but not served by default in v1.32:
# pods/resize needs the alpha InPlacePodVerticalScaling gate.
GATED_SUBRESOURCES = {("", "v1", "pods"): {"resize"}}
# componentstatuses implements get and list only; the OpenAPI list operation merely accepts `watch`.
UNSERVED_VERBS = {("", "v1", "componentstatuses"): {"watch"}}


def _lightkube_resources_dir() -> Path:
    spec = importlib.util.find_spec("lightkube")
    assert spec is not None and spec.submodule_search_locations, "lightkube-models==1.32.0.8 must be installed"
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def _api_info(node: ast.ClassDef) -> dict[str, Any] | None:
    for statement in node.body:
        if isinstance(statement, ast.Assign) and ast.unparse(statement.targets[0]) == "_api_info":
            assert isinstance(statement.value, ast.Call)
            info: dict[str, Any] = {}
            for keyword in statement.value.keywords:
                if isinstance(keyword.value, ast.Call):  # ResourceDef(group, version, kind)
                    info[str(keyword.arg)] = tuple(ast.literal_eval(arg) for arg in keyword.value.args)
                else:
                    info[str(keyword.arg)] = ast.literal_eval(keyword.value)
            return info
    return None


def _reference() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, plural) → kind, namespaced, verbs, subresources, for every GA group-version file."""
    resources: dict[tuple[str, str, str], dict[str, Any]] = {}
    subresources: list[tuple[tuple[str, str, str], str, tuple[str, str, str], frozenset[str]]] = []
    for path in sorted(_lightkube_resources_dir().glob("*_v*.py")):
        if "alpha" in path.stem or "beta" in path.stem:
            continue
        for node in ast.parse(path.read_text()).body:
            info = _api_info(node) if isinstance(node, ast.ClassDef) else None
            if info is None:
                continue
            assert isinstance(node, ast.ClassDef)
            verbs = frozenset(LIGHTKUBE_VERBS.get(verb, verb) for verb in info["verbs"])
            if "action" in info:
                parent_group, parent_version, _ = info["parent"]
                key = (parent_group, parent_version, info["plural"])
                subresources.append((key, info["action"], info["resource"], verbs))
                continue
            group, version, kind = info["resource"]
            namespaced = ast.unparse(node.bases[0]).startswith("res.Namespaced")
            resources[(group, version, info["plural"])] = {
                "kind": kind, "namespaced": namespaced, "verbs": verbs, "subresources": {},
            }
    for key, name, response_kind, verbs in subresources:
        resources[key]["subresources"][name] = (response_kind, verbs)
    return resources


REFERENCE = _reference()


def _spec_id(spec: ResourceSpec) -> str:
    return f"{spec.group_version}/{spec.plural}"


def test_every_ga_resource_of_v1_32_is_declared() -> None:
    declared = {spec.resource_key for spec in SPECS}
    assert set(REFERENCE) - declared == set()
    assert declared - set(REFERENCE) == set()


def test_reference_covers_the_ga_group_versions() -> None:
    assert len(REFERENCE) == 59
    assert {(group, version) for group, version, _ in REFERENCE} == set(CATALOG.group_versions())


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_kind_and_scope_match_the_reference(spec: ResourceSpec) -> None:
    reference = REFERENCE[spec.resource_key]
    assert (spec.kind, spec.namespaced) == (reference["kind"], reference["namespaced"])


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_verbs_match_the_reference(spec: ResourceSpec) -> None:
    expected = REFERENCE[spec.resource_key]["verbs"] - UNSERVED_VERBS.get(spec.resource_key, set())
    assert {str(verb) for verb in spec.verbs} == expected


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_typed_subresources_match_the_reference(spec: ResourceSpec) -> None:
    reference = REFERENCE[spec.resource_key]["subresources"]
    expected = {
        name: (kind, verbs) for name, (kind, verbs) in reference.items()
        if name not in GATED_SUBRESOURCES.get(spec.resource_key, set())
    }
    declared = {
        sub.name: (sub.response_kind(spec.group, spec.version), {str(verb) for verb in sub.verbs})
        for sub in spec.subresources if not sub.connect
    }
    assert declared == expected


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_connect_subresources_are_exactly_upstreams(spec: ResourceSpec) -> None:
    assert {sub.name for sub in spec.subresources if sub.connect} == CONNECT_SUBRESOURCES.get(spec.resource_key, set())


@pytest.mark.parametrize(
    ("resource_key", "name", "kind", "verbs"),
    [
        (("", "v1", "pods"), "exec", "PodExecOptions", {"create", "get"}),
        (("", "v1", "pods"), "attach", "PodAttachOptions", {"create", "get"}),
        (("", "v1", "pods"), "portforward", "PodPortForwardOptions", {"create", "get"}),
        (("", "v1", "pods"), "proxy", "PodProxyOptions", {"create", "delete", "get", "patch", "update"}),
        (("", "v1", "nodes"), "proxy", "NodeProxyOptions", {"create", "delete", "get", "patch", "update"}),
        (("", "v1", "services"), "proxy", "ServiceProxyOptions", {"create", "delete", "get", "patch", "update"}),
    ],
    ids=["pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "nodes/proxy", "services/proxy"],
)
def test_connect_subresources_report_options_kinds(
    resource_key: tuple[str, str, str], name: str, kind: str, verbs: set[str]
) -> None:
    spec = CATALOG.lookup(*resource_key)
    assert spec is not None
    sub = spec.subresource(name)
    assert sub is not None
    assert (sub.response_kind(spec.group, spec.version), {str(verb) for verb in sub.verbs}) == (("", "v1", kind), verbs)


@pytest.mark.parametrize(
    ("resource_key", "short_names", "categories"),
    [
        (("", "v1", "pods"), ("po",), ("all",)),
        (("", "v1", "services"), ("svc",), ("all",)),
        (("", "v1", "replicationcontrollers"), ("rc",), ("all",)),
        (("", "v1", "configmaps"), ("cm",), ()),
        (("", "v1", "secrets"), (), ()),
        (("", "v1", "namespaces"), ("ns",), ()),
        (("", "v1", "nodes"), ("no",), ()),
        (("", "v1", "events"), ("ev",), ()),
        (("", "v1", "endpoints"), ("ep",), ()),
        (("", "v1", "serviceaccounts"), ("sa",), ()),
        (("", "v1", "persistentvolumeclaims"), ("pvc",), ()),
        (("", "v1", "persistentvolumes"), ("pv",), ()),
        (("", "v1", "resourcequotas"), ("quota",), ()),
        (("", "v1", "limitranges"), ("limits",), ()),
        (("", "v1", "componentstatuses"), ("cs",), ()),
        (("apps", "v1", "deployments"), ("deploy",), ("all",)),
        (("apps", "v1", "replicasets"), ("rs",), ("all",)),
        (("apps", "v1", "statefulsets"), ("sts",), ("all",)),
        (("apps", "v1", "daemonsets"), ("ds",), ("all",)),
        (("batch", "v1", "jobs"), (), ("all",)),
        (("batch", "v1", "cronjobs"), ("cj",), ("all",)),
        (("autoscaling", "v2", "horizontalpodautoscalers"), ("hpa",), ("all",)),
        (("networking.k8s.io", "v1", "ingresses"), ("ing",), ()),
        (("networking.k8s.io", "v1", "networkpolicies"), ("netpol",), ()),
        (("policy", "v1", "poddisruptionbudgets"), ("pdb",), ()),
        (("storage.k8s.io", "v1", "storageclasses"), ("sc",), ()),
        (("scheduling.k8s.io", "v1", "priorityclasses"), ("pc",), ()),
        (("certificates.k8s.io", "v1", "certificatesigningrequests"), ("csr",), ()),
        (("apiextensions.k8s.io", "v1", "customresourcedefinitions"), ("crd", "crds"), ("api-extensions",)),
        (("apiregistration.k8s.io", "v1", "apiservices"), (), ("api-extensions",)),
        (("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"), (), ("api-extensions",)),
        (("rbac.authorization.k8s.io", "v1", "clusterroles"), (), ()),
    ],
    ids=lambda value: value[2] if isinstance(value, tuple) and len(value) == 3 else None,
)
def test_short_names_and_categories_match_kubectl_api_resources(
    resource_key: tuple[str, str, str], short_names: tuple[str, ...], categories: tuple[str, ...]
) -> None:
    spec = CATALOG.lookup(*resource_key)
    assert spec is not None
    assert (spec.short_names, spec.categories) == (short_names, categories)


def test_all_category_is_what_kubectl_get_all_lists() -> None:
    in_all = {spec.group_resource for spec in SPECS if "all" in spec.categories}
    assert in_all == {
        "pods", "services", "replicationcontrollers", "daemonsets.apps", "deployments.apps", "replicasets.apps",
        "statefulsets.apps", "horizontalpodautoscalers.autoscaling", "cronjobs.batch", "jobs.batch",
    }


@pytest.mark.parametrize(
    ("resource_key", "storage_path"),
    [
        (("", "v1", "pods"), "pods"),
        (("", "v1", "nodes"), "minions"),
        (("", "v1", "services"), "services/specs"),
        (("", "v1", "endpoints"), "services/endpoints"),
        (("", "v1", "replicationcontrollers"), "controllers"),
        (("", "v1", "events"), "events"),
        (("events.k8s.io", "v1", "events"), "events"),
        (("apps", "v1", "deployments"), "deployments"),
        (("networking.k8s.io", "v1", "ingresses"), "ingress"),
        (("rbac.authorization.k8s.io", "v1", "clusterroles"), "clusterroles"),
        (("autoscaling", "v1", "horizontalpodautoscalers"), "horizontalpodautoscalers"),
        (("apiextensions.k8s.io", "v1", "customresourcedefinitions"), "apiextensions.k8s.io/customresourcedefinitions"),
        (("apiregistration.k8s.io", "v1", "apiservices"), "apiregistration.k8s.io/apiservices"),
    ],
    ids=lambda value: "/".join(value) if isinstance(value, tuple) else value,
)
def test_storage_paths_follow_upstreams_etcd_layout(resource_key: tuple[str, str, str], storage_path: str) -> None:
    spec = CATALOG.lookup(*resource_key)
    assert spec is not None
    assert spec.storage_path == storage_path


def test_resources_sharing_storage_share_their_storage_version() -> None:
    for spec in SPECS:
        sharing = CATALOG.sharing_storage(spec)
        assert {other.storage_version for other in sharing} == {spec.storage_version}
    events = CATALOG.lookup("events.k8s.io", "v1", "events")
    assert events is not None
    assert [other.group_version for other in CATALOG.sharing_storage(events)] == ["v1", "events.k8s.io/v1"]


def test_virtual_resources_have_no_storage() -> None:
    virtual = {spec.group_resource for spec in SPECS if spec.virtual}
    assert virtual == {
        "bindings", "componentstatuses", "tokenreviews.authentication.k8s.io",
        "selfsubjectreviews.authentication.k8s.io", "subjectaccessreviews.authorization.k8s.io",
        "selfsubjectaccessreviews.authorization.k8s.io", "selfsubjectrulesreviews.authorization.k8s.io",
        "localsubjectaccessreviews.authorization.k8s.io",
    }
    assert all(spec.storage_path == "" and spec.storage_version_hash == "" for spec in SPECS if spec.virtual)


@pytest.mark.parametrize(
    ("resource_key", "storage_version_hash"),
    [
        (("", "v1", "pods"), "xPOwRZ+Yhw8="),
        (("", "v1", "configmaps"), "qFsyl6wFWjQ="),
        (("", "v1", "secrets"), "S6u1pOWzb84="),
        (("", "v1", "namespaces"), "Q3oi5N2YM8M="),
        (("", "v1", "services"), "0/CO1lhkEBI="),
        (("", "v1", "events"), "r2yiGXH7wu8="),
        (("events.k8s.io", "v1", "events"), "r2yiGXH7wu8="),
        (("apps", "v1", "deployments"), "8aSe+NMegvE="),
        (("autoscaling", "v1", "horizontalpodautoscalers"), "qwQve8ut294="),
    ],
    ids=lambda value: "/".join(value) if isinstance(value, tuple) else value,
)
def test_storage_version_hash_is_upstreams(resource_key: tuple[str, str, str], storage_version_hash: str) -> None:
    spec = CATALOG.lookup(*resource_key)
    assert spec is not None
    assert spec.storage_version_hash == storage_version_hash


def test_group_versions_come_in_upstreams_discovery_order() -> None:
    assert [group for group, _ in CATALOG.group_versions()] == [
        "", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
        "autoscaling", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy",
        "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
        "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io",
        "flowcontrol.apiserver.k8s.io",
    ]
    assert CATALOG.versions("autoscaling") == ("v2", "v1")
    assert CATALOG.preferred_version("autoscaling") == "v2"
    assert CATALOG.preferred_version("example.com") is None


def test_kube_aware_version_order() -> None:
    versions = ["v1alpha1", "foo", "v1", "v11beta2", "v2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2", "v10"]
    assert sorted(versions, key=kube_version_key) == [
        "v10", "v2", "v1", "v11beta2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2", "v1alpha1", "foo",
    ]


@pytest.mark.parametrize(
    ("name", "group", "expected"),
    [
        ("po", None, ["v1/pods"]),
        ("Pod", None, ["v1/pods"]),
        ("pod", None, ["v1/pods"]),
        ("deploy", None, ["apps/v1/deployments"]),
        ("deployments.apps", None, ["apps/v1/deployments"]),
        ("hpa", None, ["autoscaling/v2/horizontalpodautoscalers", "autoscaling/v1/horizontalpodautoscalers"]),
        ("horizontalpodautoscalers.v1.autoscaling", None, ["autoscaling/v1/horizontalpodautoscalers"]),
        ("ev", None, ["v1/events", "events.k8s.io/v1/events"]),
        ("events", "events.k8s.io", ["events.k8s.io/v1/events"]),
        ("crds", None, ["apiextensions.k8s.io/v1/customresourcedefinitions"]),
        ("nothing", None, []),
    ],
)
def test_resolve_names_like_kubectl(name: str, group: str | None, expected: list[str]) -> None:
    assert [_spec_id(spec) for spec in CATALOG.resolve(name, group)] == expected


def test_lookup_by_resource_and_by_kind() -> None:
    deployments = CATALOG.lookup("apps", "v1", "deployments")
    assert deployments is not None
    assert CATALOG.by_kind("apps", "v1", "Deployment") is deployments
    assert CATALOG.lookup("apps", "v1beta1", "deployments") is None
    assert CATALOG.by_kind("", "v1", "Deployment") is None
    assert [spec.plural for spec in CATALOG.resources("batch", "v1")] == ["cronjobs", "jobs"]


def test_catalog_rejects_a_resource_declared_twice() -> None:
    pods = CATALOG.lookup("", "v1", "pods")
    assert pods is not None
    with pytest.raises(ValueError, match="declared twice"):
        ResourceCatalog([pods, pods])


def _widget(version: str = "v1") -> ResourceSpec:
    return ResourceSpec(group="example.com", version=version, kind="Widget", plural="widgets", namespaced=True)


def test_with_specs_adds_a_custom_group_after_the_builtins() -> None:
    extended = CATALOG.with_specs(_widget("v1beta1"), _widget("v1"))
    assert extended.group_versions()[-2:] == (("example.com", "v1"), ("example.com", "v1beta1"))
    assert extended.lookup("example.com", "v1", "widgets") is not None
    assert CATALOG.lookup("example.com", "v1", "widgets") is None
    assert extended.without("example.com", "v1beta1").versions("example.com") == ("v1",)
    assert extended.without("example.com").versions("example.com") == ()


def test_with_specs_replaces_a_spec_with_the_same_key() -> None:
    first = CATALOG.with_specs(_widget())
    replacement = ResourceSpec(
        group="example.com", version="v1", kind="Widget", plural="widgets", namespaced=False, short_names=("wd",)
    )
    replaced = first.with_specs(replacement)
    assert replaced.lookup("example.com", "v1", "widgets") is replacement
    assert len(replaced.specs) == len(first.specs)


def test_catalog_holder_swaps_atomically() -> None:
    holder = CatalogHolder(CATALOG)
    extended = CATALOG.with_specs(_widget())
    assert holder.replace(extended) is CATALOG
    assert holder.current is extended
    updated = holder.update(lambda catalog: catalog.without("example.com"))
    assert holder.current is updated
    assert updated.lookup("example.com", "v1", "widgets") is None
    assert holder.generation == 2


def test_subresource_response_kind_defaults_to_the_parent() -> None:
    status = Subresource("status", "Deployment")
    scale = Subresource("scale", "Scale", group="autoscaling", version="v1")
    assert status.response_kind("apps", "v1") == ("apps", "v1", "Deployment")
    assert scale.response_kind("apps", "v1") == ("autoscaling", "v1", "Scale")


def test_namespaces_cannot_be_deleted_as_a_collection() -> None:
    namespaces = CATALOG.lookup("", "v1", "namespaces")
    assert namespaces is not None
    assert Verb.DELETECOLLECTION not in namespaces.verbs


NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
BARE_OBJECT: dict[str, Any] = {"metadata": {"name": "x", "creationTimestamp": "2025-01-01T03:04:05Z"}}


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_every_table_column_renders_a_bare_object_as_json(spec: ResourceSpec) -> None:
    cells = [column.value(BARE_OBJECT, NOW) for column in spec.table_columns]
    json.dumps(cells)
    names = [column.name for column in spec.table_columns]
    assert len(names) == len(set(names))
    assert sum(column.format == "name" and column.name == "Name" for column in spec.table_columns) == 1


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_every_table_column_tolerates_an_empty_object(spec: ResourceSpec) -> None:
    json.dumps([column.value({}, NOW) for column in spec.table_columns])


@pytest.mark.parametrize(
    ("resource_key", "headers", "wide"),
    [
        (("", "v1", "pods"), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
         ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]),
        (("apps", "v1", "deployments"), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
         ["CONTAINERS", "IMAGES", "SELECTOR"]),
        (("", "v1", "services"), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], ["SELECTOR"]),
        (("", "v1", "configmaps"), ["NAME", "DATA", "AGE"], []),
        (("", "v1", "secrets"), ["NAME", "TYPE", "DATA", "AGE"], []),
        (("", "v1", "namespaces"), ["NAME", "STATUS", "AGE"], []),
        (("", "v1", "nodes"), ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
         ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]),
        (("", "v1", "events"), ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
         ["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"]),
        (("", "v1", "serviceaccounts"), ["NAME", "SECRETS", "AGE"], []),
        (("batch", "v1", "jobs"), ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
         ["CONTAINERS", "IMAGES", "SELECTOR"]),
        (("batch", "v1", "cronjobs"), ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
         ["CONTAINERS", "IMAGES", "SELECTOR"]),
        (("apps", "v1", "statefulsets"), ["NAME", "READY", "AGE"], ["CONTAINERS", "IMAGES"]),
        (("apps", "v1", "replicasets"), ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
         ["CONTAINERS", "IMAGES", "SELECTOR"]),
        (("rbac.authorization.k8s.io", "v1", "rolebindings"), ["NAME", "ROLE", "AGE"],
         ["USERS", "GROUPS", "SERVICEACCOUNTS"]),
        (("rbac.authorization.k8s.io", "v1", "roles"), ["NAME", "CREATED AT"], []),
        (("coordination.k8s.io", "v1", "leases"), ["NAME", "HOLDER", "AGE"], []),
        (("apiextensions.k8s.io", "v1", "customresourcedefinitions"), ["NAME", "CREATED AT"], []),
        (("apiregistration.k8s.io", "v1", "apiservices"), ["NAME", "SERVICE", "AVAILABLE", "AGE"], []),
        (("", "v1", "persistentvolumes"),
         ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
          "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"], ["VOLUMEMODE"]),
    ],
    ids=lambda value: value[2] if isinstance(value, tuple) and len(value) == 3 else None,
)
def test_table_headers_are_what_kubectl_prints(
    resource_key: tuple[str, str, str], headers: list[str], wide: list[str]
) -> None:
    spec = CATALOG.lookup(*resource_key)
    assert spec is not None
    columns = spec.table_columns
    assert [column.name.upper() for column in columns if column.priority == 0] == headers
    assert [column.name.upper() for column in columns if column.priority == 1] == wide


def test_default_table_is_name_and_created_at() -> None:
    roles = CATALOG.lookup("rbac.authorization.k8s.io", "v1", "roles")
    assert roles is not None
    assert [column.definition() for column in roles.table_columns] == [
        {"name": "Name", "type": "string", "format": "name", "description": roles.table_columns[0].description,
         "priority": 0},
        {"name": "Created At", "type": "date", "format": "", "description": roles.table_columns[1].description,
         "priority": 0},
    ]
    assert [column.value(BARE_OBJECT, NOW) for column in roles.table_columns] == ["x", "2025-01-01T03:04:05Z"]


@pytest.mark.parametrize(
    ("resource_key", "paths"),
    [
        (("", "v1", "pods"), ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"]),
        (("", "v1", "nodes"), ["spec.unschedulable"]),
        (("", "v1", "namespaces"), ["status.phase"]),
        (("", "v1", "secrets"), ["type"]),
        (("", "v1", "replicationcontrollers"), ["status.replicas"]),
        (("apps", "v1", "replicasets"), ["status.replicas"]),
        (("batch", "v1", "jobs"), ["status.successful"]),
        (("certificates.k8s.io", "v1", "certificatesigningrequests"), ["spec.signerName"]),
        (("", "v1", "services"), []),
    ],
    ids=lambda value: value[2] if isinstance(value, tuple) and len(value) == 3 else None,
)
def test_selectable_fields_are_upstreams(resource_key: tuple[str, str, str], paths: list[str]) -> None:
    spec = CATALOG.lookup(*resource_key)
    assert spec is not None
    assert [selectable.path for selectable in spec.selectable_fields] == paths


def test_pod_selectable_field_values() -> None:
    pods = CATALOG.lookup("", "v1", "pods")
    assert pods is not None
    pod = {"spec": {"nodeName": "n1", "hostNetwork": True}, "status": {"phase": "Running",
                                                                        "podIPs": [{"ip": "10.0.0.7"}]}}
    values = {selectable.path: selectable.value(pod) for selectable in pods.selectable_fields}
    assert values["spec.nodeName"] == "n1"
    assert values["spec.hostNetwork"] == "true"
    assert values["status.podIP"] == "10.0.0.7"
    assert values["spec.restartPolicy"] == ""


def test_event_selectable_fields_of_both_versions() -> None:
    core = CATALOG.lookup("", "v1", "events")
    new = CATALOG.lookup("events.k8s.io", "v1", "events")
    assert core is not None and new is not None
    core_event = {"involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet"}}
    new_event = {"regarding": {"kind": "Pod", "name": "p"}, "reportingController": "kubelet"}
    core_field = core.selectable_field("involvedObject.kind")
    new_field = new.selectable_field("regarding.kind")
    source = core.selectable_field("source")
    reporting = new.selectable_field("reportingController")
    assert core_field is not None and new_field is not None and source is not None and reporting is not None
    assert (core_field.value(core_event), new_field.value(new_event)) == ("Pod", "Pod")
    assert (source.value(core_event), reporting.value(new_event)) == ("kubelet", "kubelet")


def test_spec_defaults_are_filled_in() -> None:
    widget = _widget()
    assert (widget.singular, widget.storage_path, widget.storage_version) == ("widget", "widgets", "example.com/v1")
    assert (widget.group_version, widget.group_resource, widget.resource_key) == (
        "example.com/v1", "widgets.example.com", ("example.com", "v1", "widgets"),
    )
    assert [column.name for column in widget.table_columns] == ["Name", "Created At"]


@pytest.mark.parametrize(
    "arguments",
    [
        {"plural": "Widgets"},
        {"plural": ""},
        {"virtual": True, "storage_path": "widgets"},
    ],
    ids=["uppercase-plural", "no-plural", "virtual-with-storage"],
)
def test_spec_rejects_inconsistent_declarations(arguments: dict[str, Any]) -> None:
    base: dict[str, Any] = {"group": "example.com", "version": "v1", "kind": "Widget", "plural": "widgets",
                            "namespaced": True}
    with pytest.raises(ValueError):
        ResourceSpec(**(base | arguments))


def test_builtin_specs_reject_a_module_declaring_something_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "broken_resources"
    package.mkdir()
    (package / "__init__.py").write_text('"""Test package."""\n')
    (package / "widgets.py").write_text("SPEC = 'not a spec'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="not a ResourceSpec"):
        builtin_specs("broken_resources")


def test_every_builtin_module_is_collected_once_in_sorted_order() -> None:
    modules = [spec.group_version + "/" + spec.plural for spec in SPECS]
    assert len(modules) == len(set(modules)) == 59
    assert SPECS[0].group == "admissionregistration.k8s.io"
    assert builtin_specs() is SPECS
