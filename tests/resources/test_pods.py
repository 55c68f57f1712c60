"""Pods on create: upstream v1.32's defaults, the initial status, and the Invalid answers of ValidatePodCreate."""
from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def pod(name: str = "p", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "nginx:1.27", **fields}


def invalid(name: str, causes: list[tuple[str, str, str]], kind: str = "Pod") -> dict[str, Any]:
    """The 422 Status of upstream's NewInvalid for (reason, field, message body) causes."""
    messages = [f"{field}: {body}" for _, field, body in causes]
    summary = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    return {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'{kind} "{name}" is invalid: {summary}', "reason": "Invalid",
        "details": {"name": name, "kind": kind,
                    "causes": [{"reason": reason, "message": body, "field": field} for reason, field, body in causes]},
        "code": 422,
    }


async def test_create_fills_upstream_defaults_and_pending_status(api: ResourceApp) -> None:
    answer = await api.request("POST", PODS, pod(containers=[container(ports=[{"containerPort": 80}])]))
    assert answer.status == 201
    created = answer.json()
    assert created["spec"] == {
        "containers": [{
            "name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "resources": {}, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "securityContext": {}, "schedulerName": "default-scheduler", "enableServiceLinks": True,
    }
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert (await api.request("GET", f"{PODS}/p")).json() == created


@pytest.mark.parametrize(
    ("image", "policy"),
    [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
     ("registry.local:5000/team/app", "Always"), ("registry.local:5000/team/app:v2", "IfNotPresent"),
     ("nginx@sha256:" + "a" * 64, "IfNotPresent"), ("nginx:1.2@sha256:" + "b" * 64, "IfNotPresent")],
    ids=["no-tag", "latest", "tag", "registry-port-no-tag", "registry-port-tag", "digest", "tag-and-digest"],
)
async def test_image_pull_policy_defaults_from_the_tag(api: ResourceApp, image: str, policy: str) -> None:
    answer = await api.request("POST", PODS, pod(containers=[container(image=image)]))
    assert answer.json()["spec"]["containers"][0]["imagePullPolicy"] == policy


async def test_nested_defaults_of_probes_env_volumes_and_init_containers(api: ResourceApp) -> None:
    body = pod(
        containers=[container(
            livenessProbe={"httpGet": {"port": 8080}},
            readinessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 5},
            env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "scratch", "mountPath": "/tmp"}],
        )],
        initContainers=[{"name": "init", "image": "busybox"}],
        volumes=[{"name": "cfg", "configMap": {"name": "settings"}}, {"name": "scratch"},
                 {"name": "certs", "secret": {"secretName": "tls"}}, {"name": "host", "hostPath": {"path": "/d"}}],
    )
    spec = (await api.request("POST", PODS, body)).json()["spec"]
    main = spec["containers"][0]
    assert main["livenessProbe"] == {"httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1,
                                     "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert main["readinessProbe"]["periodSeconds"] == 5 and main["readinessProbe"]["timeoutSeconds"] == 1
    assert main["env"][0]["valueFrom"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}
    assert spec["volumes"] == [
        {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "certs", "secret": {"secretName": "tls", "defaultMode": 420}},
        {"name": "host", "hostPath": {"path": "/d", "type": ""}},
    ]
    assert spec["initContainers"][0] == {
        "name": "init", "image": "busybox", "resources": {}, "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "imagePullPolicy": "Always",
    }


@pytest.mark.parametrize(
    ("resources", "qos", "requests"),
    [
        ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed", {"cpu": "1", "memory": "1Gi"}),
        ({"requests": {"cpu": "500m"}}, "Burstable", {"cpu": "500m"}),
        ({"limits": {"cpu": "1"}}, "Burstable", {"cpu": "1"}),
        ({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1Gi"}}, "Burstable",
         {"cpu": "1", "memory": "1Gi"}),
        ({}, "BestEffort", None),
    ],
    ids=["limits-only-guaranteed", "requests-only", "cpu-limit-only", "requests-below-limits", "none"],
)
async def test_qos_class_and_requests_defaulted_from_limits(api: ResourceApp, resources: dict[str, Any], qos: str,
                                                            requests: dict[str, str] | None) -> None:
    created = (await api.request("POST", PODS, pod(containers=[container(resources=resources)]))).json()
    assert created["status"]["qosClass"] == qos
    assert created["spec"]["containers"][0]["resources"].get("requests") == requests


async def test_scheduling_gates_add_the_gated_condition(api: ResourceApp) -> None:
    created = (await api.request("POST", PODS, pod(schedulingGates=[{"name": "example.com/wait"}]))).json()
    assert created["status"] == {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": None,
                        "reason": "SchedulingGated",
                        "message": "Scheduling is blocked due to non-empty scheduling gates"}],
        "qosClass": "BestEffort",
    }


async def test_status_in_a_create_is_replaced(api: ResourceApp) -> None:
    body = pod()
    body["status"] = {"phase": "Running", "podIP": "10.0.0.1"}
    assert (await api.request("POST", PODS, body)).json()["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


async def test_negative_termination_grace_period_is_read_as_one(api: ResourceApp) -> None:
    created = (await api.request("POST", PODS, pod(terminationGracePeriodSeconds=-5))).json()
    assert created["spec"]["terminationGracePeriodSeconds"] == 1


REQ, INV, DUP, NSUP, FORB, NFOUND = ("FieldValueRequired", "FieldValueInvalid", "FieldValueDuplicate",
                                     "FieldValueNotSupported", "FieldValueForbidden", "FieldValueNotFound")
LABEL_RULE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
              "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_RULE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")

CREATE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("no-containers", {"containers": []}, [(REQ, "spec.containers", "Required value")]),
    ("container-name-not-label", {"containers": [container(name="App_1")]},
     [(INV, "spec.containers[0].name", f'Invalid value: "App_1": {LABEL_RULE}')]),
    ("container-name-missing", {"containers": [{"image": "nginx"}]},
     [(REQ, "spec.containers[0].name", "Required value")]),
    ("duplicate-container-name", {"containers": [container(), container()]},
     [(DUP, "spec.containers[1].name", 'Duplicate value: "app"')]),
    ("init-container-name-clash", {"initContainers": [container()]},
     [(DUP, "spec.initContainers[0].name", 'Duplicate value: "app"')]),
    ("image-missing", {"containers": [{"name": "app"}]}, [(REQ, "spec.containers[0].image", "Required value")]),
    ("container-port-zero", {"containers": [container(ports=[{"containerPort": 0}])]},
     [(REQ, "spec.containers[0].ports[0].containerPort", "Required value")]),
    ("container-port-too-large", {"containers": [container(ports=[{"containerPort": 70000}])]},
     [(INV, "spec.containers[0].ports[0].containerPort",
       "Invalid value: 70000: must be between 1 and 65535, inclusive")]),
    ("port-protocol", {"containers": [container(ports=[{"containerPort": 80, "protocol": "HTTP"}])]},
     [(NSUP, "spec.containers[0].ports[0].protocol",
       'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"')]),
    ("port-name-too-long", {"containers": [container(ports=[{"containerPort": 80, "name": "a-very-long-port-name"}])]},
     [(INV, "spec.containers[0].ports[0].name",
       'Invalid value: "a-very-long-port-name": must be no more than 15 characters')]),
    ("port-name-digits", {"containers": [container(ports=[{"containerPort": 80, "name": "8080"}])]},
     [(INV, "spec.containers[0].ports[0].name", 'Invalid value: "8080": must contain at least one letter (a-z)')]),
    ("duplicate-port-name", {"containers": [container(ports=[{"containerPort": 80, "name": "web"},
                                                             {"containerPort": 81, "name": "web"}])]},
     [(DUP, "spec.containers[0].ports[1].name", 'Duplicate value: "web"')]),
    ("env-name-with-equals", {"containers": [container(env=[{"name": "A=B", "value": "x"}])]},
     [(INV, "spec.containers[0].env[0].name", 'Invalid value: "A=B": a valid environment variable name must '
                                               "consist only of printable ASCII characters other than '='")]),
    ("env-value-and-value-from", {"containers": [container(env=[{
        "name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}])]},
     [(INV, "spec.containers[0].env[0].valueFrom",
       'Invalid value: "": may not be specified when `value` is not empty')]),
    ("env-field-path", {"containers": [container(env=[{"name": "A", "valueFrom": {"fieldRef": {
        "fieldPath": "spec.hostname"}}}])]},
     [(NSUP, "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
       'Unsupported value: "spec.hostname": supported values: "metadata.name", "metadata.namespace", '
       '"metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", '
       '"status.podIP", "status.podIPs"')]),
    ("volume-duplicate-name", {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]},
     [(DUP, "spec.volumes[1].name", 'Duplicate value: "v"')]),
    ("volume-two-sources", {"volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
     [(FORB, "spec.volumes[0].hostPath", "Forbidden: may not specify more than 1 volume type")]),
    ("volume-secret-name", {"volumes": [{"name": "v", "secret": {}}]},
     [(REQ, "spec.volumes[0].secret.secretName", "Required value")]),
    ("mount-unknown-volume", {"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]},
     [(NFOUND, "spec.containers[0].volumeMounts[0].name", 'Not found: "data"')]),
    ("requests-above-limits", {"containers": [container(resources={"requests": {"cpu": "2"},
                                                                   "limits": {"cpu": "1"}})]},
     [(INV, "spec.containers[0].resources.requests",
       'Invalid value: "2": must be less than or equal to cpu limit of 1')]),
    ("negative-request", {"containers": [container(resources={"requests": {"memory": "-1"}})]},
     [(INV, "spec.containers[0].resources.requests[memory]",
       'Invalid value: "-1": must be greater than or equal to 0')]),
    ("unknown-resource", {"containers": [container(resources={"limits": {"gpu": "1"}})]},
     [(INV, f"spec.containers[0].resources.{kind}[gpu]", f'Invalid value: "gpu": {detail}')
      for kind in ("limits", "requests")  # requests are defaulted from limits first
      for detail in ("must be a standard resource type or fully qualified",
                     "must be a standard resource for containers")]),
    ("extended-request-without-limit", {"containers": [container(resources={"requests": {"example.com/gpu": "1"},
                                                                            "limits": {}})]},
     [(REQ, "spec.containers[0].resources.limits", "Required value: Limit must be set for non overcommitable "
                                                   "resources")]),
    ("restart-policy", {"restartPolicy": "Sometimes"},
     [(NSUP, "spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
                                   '"Never"')]),
    ("dns-policy", {"dnsPolicy": "Google"},
     [(NSUP, "spec.dnsPolicy", 'Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", '
                               '"ClusterFirst", "Default", "None"')]),
    ("dns-none-without-config", {"dnsPolicy": "None"},
     [(REQ, "spec.dnsConfig", "Required value: must provide `dnsConfig` when `dnsPolicy` is None")]),
    ("active-deadline-zero", {"activeDeadlineSeconds": 0},
     [(INV, "spec.activeDeadlineSeconds", "Invalid value: 0: must be between 1 and 2147483647, inclusive")]),
    ("node-selector-value", {"nodeSelector": {"disk": "fast ssd"}},
     [(INV, "spec.nodeSelector", 'Invalid value: "fast ssd": a valid label must be an empty string or consist of '
                                 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                 "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
                                 "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")]),
    ("hostname", {"hostname": "Web.1"}, [(INV, "spec.hostname", f'Invalid value: "Web.1": {LABEL_RULE}')]),
    ("subdomain", {"subdomain": "a.b"}, [(INV, "spec.subdomain", 'Invalid value: "a.b": must not contain dots')]),
    ("service-account-name", {"serviceAccountName": "Builder"},
     [(INV, "spec.serviceAccountName", f'Invalid value: "Builder": {SUBDOMAIN_RULE}')]),
    ("toleration-operator", {"tolerations": [{"key": "k", "operator": "In"}]},
     [(NSUP, "spec.tolerations[0].operator", 'Unsupported value: "In": supported values: "Equal", "Exists"')]),
    ("ephemeral-on-create", {"ephemeralContainers": [{"name": "debug", "image": "busybox"}]},
     [(FORB, "spec.ephemeralContainers", "Forbidden: cannot be set on create")]),
    ("init-container-probe", {"initContainers": [{"name": "init", "image": "busybox",
                                                  "livenessProbe": {"exec": {"command": ["true"]}}}]},
     [(FORB, "spec.initContainers[0].livenessProbe",
       "Forbidden: may not be set for init containers without restartPolicy=Always")]),
    ("probe-without-handler", {"containers": [container(readinessProbe={"periodSeconds": 3})]},
     [(REQ, "spec.containers[0].readinessProbe", "Required value: must specify a handler type")]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in CREATE_CASES],
                         ids=[case[0] for case in CREATE_CASES])
async def test_invalid_pods_are_rejected_with_upstream_messages(
    api: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]
) -> None:
    answer = await api.request("POST", PODS, pod("bad", **copy.deepcopy(spec)))
    assert (answer.status, answer.json()) == (422, invalid("bad", causes))
    assert await api.stored_keys("/registry/pods/") == []


async def test_projected_service_account_volume_is_accepted(api: ResourceApp) -> None:
    volume = {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                      "fieldPath": "metadata.namespace"}}]}},
    ]}}
    mount = {"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
             "readOnly": True}
    answer = await api.request("POST", PODS, pod(volumes=[volume], containers=[container(volumeMounts=[mount])]))
    assert answer.status == 201, answer.json()
    assert answer.json()["spec"]["volumes"] == [volume]


async def test_projected_volume_rules(api: ResourceApp) -> None:
    volume = {"name": "p", "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 60, "path": "token"}},
        {"configMap": {"name": "c", "items": [{"key": "a", "path": "token"}]}, "secret": {"name": "s"}},
    ]}}
    answer = await api.request("POST", PODS, pod("bad", volumes=[volume]))
    assert answer.json() == invalid("bad", [
        (INV, "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds",
         "Invalid value: 60: may not specify a duration less than 10 minutes"),
        (FORB, "spec.volumes[0].projected.sources[1]", "Forbidden: may not specify more than 1 volume type per source"),
    ])
