"""Claims, volumes, namespaces, pod templates, limit ranges, quotas and service accounts: upstream v1.32 rules."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import FORB, INV, NSUP, REQ, invalid
from tests.support.resource_app import ResourceApp, resource_app

CLAIMS = "/api/v1/namespaces/default/persistentvolumeclaims"
VOLUMES = "/api/v1/persistentvolumes"
TEMPLATES = "/api/v1/namespaces/default/podtemplates"
LIMITS = "/api/v1/namespaces/default/limitranges"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def claim(name: str = "data", **spec: Any) -> dict[str, Any]:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}


def volume(name: str = "pv1", **spec: Any) -> dict[str, Any]:
    body = {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": body}


async def test_claim_defaults_and_pending_status(api: ResourceApp) -> None:
    created = (await api.request("POST", CLAIMS, claim())).json()
    assert created["spec"]["volumeMode"] == "Filesystem"
    assert created["status"] == {"phase": "Pending"}


CLAIM_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("no-access-modes", {"accessModes": []},
     [(REQ, "spec.accessModes", "Required value: at least 1 access mode is required")]),
    ("unknown-access-mode", {"accessModes": ["ReadWriteSometimes"]},
     [(NSUP, "spec.accessModes", 'Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
                                 '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"')]),
    ("no-storage-request", {"resources": {"requests": {}}}, [(REQ, "spec.resources[storage]", "Required value")]),
    ("zero-storage", {"resources": {"requests": {"storage": "0"}}},
     [(INV, "spec.resources[storage]", 'Invalid value: "0": must be greater than zero')]),
    ("volume-mode", {"volumeMode": "Raw"},
     [(NSUP, "spec.volumeMode", 'Unsupported value: "Raw": supported values: "Block", "Filesystem"')]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in CLAIM_CASES], ids=[case[0] for case in CLAIM_CASES])
async def test_invalid_claims(api: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", CLAIMS, claim("bad", **spec))
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="PersistentVolumeClaim"))


async def test_claim_spec_is_immutable_except_requests_of_bound_claims(api: ResourceApp) -> None:
    current = (await api.request("POST", CLAIMS, claim())).json()
    current["spec"]["accessModes"] = ["ReadWriteMany"]
    status = (await api.request("PUT", f"{CLAIMS}/data", current)).json()
    cause = status["details"]["causes"][0]
    assert (cause["reason"], cause["field"]) == (FORB, "spec")
    assert cause["message"].startswith(
        "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for "
        "bound claims\n  core.PersistentVolumeClaimSpec{\n")
    assert '  \tAccessModes: {\n- \t\t"ReadWriteOnce",\n+ \t\t"ReadWriteMany",\n  \t},' in cause["message"]
    current = (await api.request("GET", f"{CLAIMS}/data")).json()
    current["spec"]["volumeName"] = "pv1"
    bound = (await api.request("PUT", f"{CLAIMS}/data", current)).json()
    assert bound["spec"]["volumeName"] == "pv1"
    bound["status"] = {"phase": "Bound"}
    bound = (await api.request("PUT", f"{CLAIMS}/data/status", bound)).json()
    bound["spec"]["resources"]["requests"]["storage"] = "2Gi"
    grown = await api.request("PUT", f"{CLAIMS}/data", bound)
    assert grown.status == 200 and grown.json()["spec"]["resources"]["requests"]["storage"] == "2Gi"
    shrunk = grown.json()
    shrunk["spec"]["resources"]["requests"]["storage"] = "1Gi"
    answer = await api.request("PUT", f"{CLAIMS}/data", shrunk)
    assert answer.json() == invalid("data", [(FORB, "spec.resources.requests.storage",
                                              "Forbidden: field can not be less than previous value")],
                                    kind="PersistentVolumeClaim")


async def test_volume_defaults_and_pending_status(api: ResourceApp) -> None:
    created = (await api.request("POST", VOLUMES, volume())).json()
    assert created["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert created["spec"]["volumeMode"] == "Filesystem"
    assert created["spec"]["hostPath"] == {"path": "/data", "type": ""}
    assert created["status"] == {"phase": "Pending", "lastPhaseTransitionTime": "2024-01-02T03:04:05Z"}


VOLUME_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("no-access-modes", {"accessModes": []}, [(REQ, "spec.accessModes", "Required value")]),
    ("two-capacities", {"capacity": {"storage": "1Gi", "cpu": "1"}},
     [(NSUP, "spec.capacity", 'Unsupported value: {"cpu":"1","storage":"1Gi"}: supported values: "storage"')]),
    ("reclaim-policy", {"persistentVolumeReclaimPolicy": "Keep"},
     [(NSUP, "spec.persistentVolumeReclaimPolicy",
       'Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"')]),
    ("no-source", {"hostPath": None}, [(REQ, "spec", "Required value: must specify a volume type")]),
    ("two-sources", {"nfs": {"server": "nfs.local", "path": "/x"}},
     [(FORB, "spec.nfs", "Forbidden: may not specify more than 1 volume type")]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in VOLUME_CASES],
                         ids=[case[0] for case in VOLUME_CASES])
async def test_invalid_volumes(api: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    body = volume("bad", **spec)
    body["spec"] = {key: value for key, value in body["spec"].items() if value is not None}
    answer = await api.request("POST", VOLUMES, body)
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="PersistentVolume"))


async def test_namespace_carries_its_name_label(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "other", "env": "dev"}}}
    created = (await api.request("POST", "/api/v1/namespaces", body)).json()
    assert created["metadata"]["labels"] == {"env": "dev", "kubernetes.io/metadata.name": "team-a"}
    created["metadata"]["labels"] = {}
    updated = (await api.request("PUT", "/api/v1/namespaces/team-a", created)).json()
    assert updated["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    default = (await api.request("GET", "/api/v1/namespaces/default")).json()
    assert default["metadata"]["labels"] == {"kubernetes.io/metadata.name": "default"}


async def test_pod_template_defaults_and_validation(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}
    created = (await api.request("POST", TEMPLATES, body)).json()
    spec = created["template"]["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["containers"][0]["imagePullPolicy"]) == (
        "Always", "ClusterFirst", "Always")
    assert "enableServiceLinks" not in spec  # a Pod default, not a template one
    assert created["template"]["metadata"] == {"creationTimestamp": None, "labels": {"app": "web"}}
    bad = {**body, "metadata": {"name": "bad"}, "template": {"metadata": {"labels": {"a": "b c"}}}}
    answer = await api.request("POST", TEMPLATES, bad)
    assert [(cause["field"], cause["reason"]) for cause in answer.json()["details"]["causes"]] == [
        ("template.labels", INV), ("template.spec.containers", REQ)]


def go_quantity(value: int, scale: int, cached: str, format_: str = "DecimalSI") -> str:
    """Go's %#v of a resource.Quantity, as upstream prints LimitRange's bad values."""
    return (f"resource.Quantity{{i:resource.int64Amount{{value:{value}, scale:{scale}}}, "
            f'd:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}, s:"{cached}", Format:"{format_}"}}')


CPU2, CPU1 = go_quantity(2, 0, "2"), go_quantity(1, 0, "1")
GI2, GI1 = go_quantity(2147483648, 0, "2Gi", "BinarySI"), go_quantity(1073741824, 0, "1Gi", "BinarySI")
LIMIT_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("min-above-max", {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
     [(INV, "spec.limits[0].min[cpu]", f"Invalid value: {CPU2}: min value 2 is greater than max value 1"),
      (INV, "spec.limits[0].defaultRequest[cpu]",
       f"Invalid value: {CPU1}: min value 2 is greater than default request value 1"),
      (INV, "spec.limits[0].default[cpu]", f"Invalid value: {CPU2}: min value 2 is greater than default value 1")]),
    ("default-above-max", {"type": "Container", "default": {"memory": "2Gi"}, "max": {"memory": "1Gi"}},
     [(INV, "spec.limits[0].defaultRequest[memory]",
       f"Invalid value: {GI2}: default request value 2Gi is greater than max value 1Gi"),
      (INV, "spec.limits[0].default[memory]",
       f"Invalid value: {GI1}: default value 2Gi is greater than max value 1Gi")]),
    ("milli", {"type": "Container", "min": {"cpu": "1500m"}, "max": {"cpu": "100m"}},
     [(INV, "spec.limits[0].min[cpu]",
       f"Invalid value: {go_quantity(1500, -3, '1500m')}: min value 1500m is greater than max value 100m"),
      (INV, "spec.limits[0].defaultRequest[cpu]",
       f"Invalid value: {go_quantity(100, -3, '100m')}: min value 1500m is greater than default request value 100m"),
      (INV, "spec.limits[0].default[cpu]",
       f"Invalid value: {go_quantity(1500, -3, '1500m')}: min value 1500m is greater than default value 100m")]),
    ("ratio-below-one", {"type": "Container", "maxLimitRequestRatio": {"cpu": "500m"}},
     [(INV, "spec.limits[0].maxLimitRequestRatio[cpu]",
       f"Invalid value: {go_quantity(500, -3, '500m')}: ratio 500m is less than 1")]),
    ("ratio-above-max-over-min", {"type": "Pod", "min": {"cpu": "1"}, "max": {"cpu": "2"},
                                  "maxLimitRequestRatio": {"cpu": "3"}},
     [(INV, "spec.limits[0].maxLimitRequestRatio[cpu]",
       f"Invalid value: {go_quantity(3, 0, '3')}: ratio 3 is greater than max/min = 2.000000")]),
    ("hugepages-default-differs", {"type": "Container", "default": {"hugepages-2Mi": "4Mi"},
                                   "defaultRequest": {"hugepages-2Mi": "2Mi"}},
     [(INV, "spec.limits[0].defaultRequest[hugepages-2Mi]",
       f"Invalid value: {go_quantity(2097152, 0, '2Mi', 'BinarySI')}: default value 4Mi must equal to "
       "defaultRequest value 2Mi in hugepages-2Mi")]),
    ("pvc-without-storage", {"type": "PersistentVolumeClaim", "max": {"widgets": "1"}},
     [(INV, "spec.limits[0].max[widgets]",
       'Invalid value: "widgets": must be a standard resource type or fully qualified'),
      (REQ, "spec.limits[0].limits",
       "Required value: either minimum or maximum storage value is required, but neither was provided")]),
    ("pod-default", {"type": "Pod", "default": {"cpu": "1"}},
     [(FORB, "spec.limits[0].default", "Forbidden: may not be specified when `type` is 'Pod'")]),
    ("unknown-type", {"type": "Node"},
     [(INV, "spec.limits[0].type", 'Invalid value: "Node": must be a standard limit type or fully qualified')]),
]


@pytest.mark.parametrize(("item", "causes"), [case[1:] for case in LIMIT_CASES], ids=[case[0] for case in LIMIT_CASES])
async def test_invalid_limit_ranges(api: ResourceApp, item: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    body = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "bad"}, "spec": {"limits": [item]}}
    answer = await api.request("POST", LIMITS, body)
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="LimitRange"))


async def test_limit_range_container_defaults(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"}, "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}}
    item = (await api.request("POST", LIMITS, body)).json()["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


async def test_resource_quota_validation(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "bad"},
            "spec": {"hard": {"pods": "1500m", "cpu": "-1", "widgets": "3"}}}
    answer = await api.request("POST", QUOTAS, body)
    assert answer.json() == invalid("bad", [
        (INV, "spec.hard[cpu]", 'Invalid value: "-1": must be greater than or equal to 0'),
        (INV, "spec.hard[pods]", 'Invalid value: "1500m": must be an integer'),
        (INV, "spec.hard[widgets]", 'Invalid value: "widgets": must be a standard resource type or fully qualified'),
        (INV, "spec.hard[widgets]", 'Invalid value: "widgets": must be a standard resource for quota'),
    ], kind="ResourceQuota")
    good = {**body, "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10", "requests.cpu": "4",
                                                                  "count/deployments.apps": "5"}}}
    assert (await api.request("POST", QUOTAS, good)).status == 201


async def test_service_account_secret_references_keep_only_names(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"},
            "secrets": [{"name": "token", "namespace": "other", "uid": "x"}]}
    created = (await api.request("POST", "/api/v1/namespaces/default/serviceaccounts", body)).json()
    assert created["secrets"] == [{"name": "token"}]


def quota(name: str = "q", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": spec}


EXISTS_ONLY = ("must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
               "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or "
               "ResourceQuotaScopeCrossNamespacePodAffinity")
TERMINATING_SELECTOR = ("core.ScopeSelector{MatchExpressions:[]core.ScopedResourceSelectorRequirement{"
                        'core.ScopedResourceSelectorRequirement{ScopeName:"Terminating", Operator:"In", '
                        "Values:[]string(nil)}}}")
QUOTA_SCOPE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("best-effort-with-cpu", {"hard": {"cpu": "1", "memory": "1Gi", "pods": "2"}, "scopes": ["BestEffort"]},
     [(INV, "spec.scopes", 'Invalid value: []core.ResourceQuotaScope{"BestEffort"}: '
                           "unsupported scope applied to resource")] * 2),
    ("terminating-with-secrets", {"hard": {"secrets": "1"}, "scopes": ["Terminating", "Unknown"]},
     [(INV, "spec.scopes", 'Invalid value: []core.ResourceQuotaScope{"Terminating", "Unknown"}: '
                           "unsupported scope applied to resource"),
      (INV, "spec.scopes", 'Invalid value: []core.ResourceQuotaScope{"Terminating", "Unknown"}: unsupported scope')]),
    ("conflicting", {"hard": {"pods": "1"}, "scopes": ["Terminating", "NotTerminating"]},
     [(INV, "spec.scopes", 'Invalid value: []core.ResourceQuotaScope{"Terminating", "NotTerminating"}: '
                           "conflicting scopes")]),
    ("selector-operator-and-values",
     {"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [{"scopeName": "Terminating", "operator": "In"}]}},
     [(INV, "spec.scopeSelector.matchExpressions.operator", f'Invalid value: "In": {EXISTS_ONLY}'),
      (REQ, "spec.scopeSelector.matchExpressions.values",
       "Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector")]),
    ("selector-applied-to-resource",
     {"hard": {"secrets": "1"},
      "scopeSelector": {"matchExpressions": [{"scopeName": "Terminating", "operator": "In"}]}},
     [(INV, "spec.scopeSelector.matchExpressions",
       f"Invalid value: {TERMINATING_SELECTOR}: unsupported scope applied to resource"),
      (INV, "spec.scopeSelector.matchExpressions.operator", f'Invalid value: "In": {EXISTS_ONLY}'),
      (REQ, "spec.scopeSelector.matchExpressions.values",
       "Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector")]),
    ("selector-exists-with-values",
     {"hard": {"pods": "1"},
      "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "Exists", "values": ["a"]},
                                             {"scopeName": "PriorityClass", "operator": "Gt", "values": ["b"]}]}},
     [(INV, "spec.scopeSelector.matchExpressions.values",
       'Invalid value: []string{"a"}: must be no value when '
       "`operator` is 'Exist' or 'DoesNotExist' for scope selector"),
      (INV, "spec.scopeSelector.matchExpressions.operator", 'Invalid value: "Gt": not a valid selector operator')]),
    ("selector-conflicting",
     {"hard": {"pods": "1"},
      "scopeSelector": {"matchExpressions": [{"scopeName": "BestEffort", "operator": "Exists"},
                                             {"scopeName": "NotBestEffort", "operator": "Exists"}]}},
     [(INV, "spec.scopeSelector.matchExpressions",
       "Invalid value: []core.ResourceQuotaScope(nil): conflicting scopes")]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in QUOTA_SCOPE_CASES],
                         ids=[case[0] for case in QUOTA_SCOPE_CASES])
async def test_invalid_quota_scopes(api: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", QUOTAS, quota("bad", **spec))
    expected = invalid("bad", causes, kind="ResourceQuota")
    distinct = list(dict.fromkeys(f"{field}: {body}" for _, field, body in causes))  # ToAggregate drops repeats
    summary = distinct[0] if len(distinct) == 1 else "[" + ", ".join(distinct) + "]"
    expected["message"] = f'ResourceQuota "bad" is invalid: {summary}'
    assert (answer.status, answer.json()) == (422, expected)
    assert (await api.request("GET", f"{QUOTAS}/bad")).status == 404


async def test_quota_scopes_are_immutable_and_status_starts_empty(api: ResourceApp) -> None:
    body = quota(hard={"pods": "2"}, scopes=["NotTerminating"])
    created = (await api.request("POST", QUOTAS, {**body, "status": {"hard": {"pods": "9"}}})).json()
    assert "status" not in created or created["status"] == {}
    created["spec"]["scopes"] = ["Terminating"]
    answer = await api.request("PUT", f"{QUOTAS}/q", created)
    assert answer.json() == invalid("q", [
        (INV, "spec.scopes", 'Invalid value: []core.ResourceQuotaScope{"Terminating"}: field is immutable')],
        kind="ResourceQuota")
    created["spec"]["scopes"] = ["NotTerminating"]
    created["spec"]["hard"] = {"pods": "3"}
    assert (await api.request("PUT", f"{QUOTAS}/q", created)).status == 200
