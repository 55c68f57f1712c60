"""Upstream v1.32's defaults of a PodSpec and everything inside it (pkg/apis/core/v1/defaults.go).

Every function fills only what is absent (or empty, where Go cannot tell the two apart) and is idempotent, so
the same defaulting can run on every create and update, as upstream's decoder runs it on every request body.
Values of the wrong type are left alone: the type check of the request body rejects them before this runs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

MutableObject = dict[str, Any]

DEFAULT_TERMINATION_GRACE_PERIOD: Final = 30
DEFAULT_SCHEDULER_NAME: Final = "default-scheduler"
DEFAULT_TERMINATION_MESSAGE_PATH: Final = "/dev/termination-log"
DEFAULT_VOLUME_MODE: Final = 0o644  # 420
DEFAULT_TOKEN_EXPIRATION: Final = 3600

# A container volume source with its own defaults: (source key, defaults to fill).
_VOLUME_SOURCE_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "secret": {"defaultMode": DEFAULT_VOLUME_MODE},
    "configMap": {"defaultMode": DEFAULT_VOLUME_MODE},
    "downwardAPI": {"defaultMode": DEFAULT_VOLUME_MODE},
    "projected": {"defaultMode": DEFAULT_VOLUME_MODE},
    "hostPath": {"type": ""},
    "iscsi": {"iscsiInterface": "default"},
    "rbd": {"pool": "rbd", "user": "admin", "keyring": "/etc/ceph/keyring"},
    "azureDisk": {"cachingMode": "ReadWrite", "fsType": "ext4", "readOnly": False, "kind": "Shared"},
    "scaleIO": {"storageMode": "ThinProvisioned", "fsType": "xfs"},
}
VOLUME_SOURCES: Final = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
    "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
    "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)

# The image reference grammar's name part (lower case path components, an optional registry host with port).
_IMAGE_NAME: Final = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG: Final = re.compile(r"[\w][\w.-]{0,127}")


def _dict(value: object) -> MutableObject | None:
    return value if isinstance(value, dict) else None


def _list_of_dicts(value: object) -> list[MutableObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _fill(obj: MutableObject, defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        if obj.get(key) in (None, ""):
            obj[key] = value


def image_tag(image: str) -> str:
    """The tag ParseImageName finds: `latest` when there is neither tag nor digest, "" for a digest or a bad name."""
    name, _, digest = image.partition("@")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.fullmatch(tag):
            return ""
    if not _IMAGE_NAME.fullmatch(name):
        return ""
    if not tag and not digest:
        return "latest"
    return tag


def default_image_pull_policy(image: str) -> str:
    """Always for `:latest` (or no tag at all), IfNotPresent otherwise (a digest, a tag, a name that does not parse)."""
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


def _default_handler(handler: MutableObject | None) -> None:
    if handler is None:
        return
    http_get = _dict(handler.get("httpGet"))
    if http_get is not None:
        _fill(http_get, {"path": "/", "scheme": "HTTP"})


def _default_probe(probe: MutableObject | None) -> None:
    if probe is None:
        return
    _default_handler(probe)
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value


def _default_env(container: MutableObject) -> None:
    for variable in _list_of_dicts(container.get("env")):
        source = _dict(variable.get("valueFrom")) or {}
        field_ref = _dict(source.get("fieldRef"))
        if field_ref is not None:
            _fill(field_ref, {"apiVersion": "v1"})
        resource_ref = _dict(source.get("resourceFieldRef"))
        if resource_ref is not None and resource_ref.get("divisor") is None:
            resource_ref["divisor"] = "0"  # a Quantity value: its zero value is printed


def default_container(container: MutableObject) -> None:
    """SetDefaults_Container and what the generated defaulters reach inside a container."""
    if not container.get("imagePullPolicy"):
        image = container.get("image")
        container["imagePullPolicy"] = default_image_pull_policy(image if isinstance(image, str) else "")
    _fill(container, {"terminationMessagePath": DEFAULT_TERMINATION_MESSAGE_PATH,
                      "terminationMessagePolicy": "File"})
    if container.get("resources") is None:
        container["resources"] = {}  # a struct, never omitted
    for port in _list_of_dicts(container.get("ports")):
        _fill(port, {"protocol": "TCP"})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(_dict(container.get(probe)))
    lifecycle = _dict(container.get("lifecycle")) or {}
    for hook in ("postStart", "preStop"):
        _default_handler(_dict(lifecycle.get(hook)))
    _default_env(container)


def _default_projection(projected: MutableObject) -> None:
    for source in _list_of_dicts(projected.get("sources")):
        token = _dict(source.get("serviceAccountToken"))
        if token is not None and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = DEFAULT_TOKEN_EXPIRATION
        for item in _list_of_dicts((_dict(source.get("downwardAPI")) or {}).get("items")):
            _default_field_refs(item)


def _default_field_refs(item: MutableObject) -> None:
    field_ref = _dict(item.get("fieldRef"))
    if field_ref is not None:
        _fill(field_ref, {"apiVersion": "v1"})
    resource_ref = _dict(item.get("resourceFieldRef"))
    if resource_ref is not None and resource_ref.get("divisor") is None:
        resource_ref["divisor"] = "0"


def default_volume_sources(holder: MutableObject) -> None:
    """The defaults of each volume source present in `holder` (a Volume or a PersistentVolumeSpec)."""
    for source, defaults in _VOLUME_SOURCE_DEFAULTS.items():
        found = _dict(holder.get(source))
        if found is not None:
            for key, value in defaults.items():
                if found.get(key) is None:
                    found[key] = value


def default_volume(volume: MutableObject) -> None:
    """SetDefaults_Volume (a volume without a source is an emptyDir) and each source's own defaults."""
    if not any(volume.get(source) is not None for source in VOLUME_SOURCES):
        volume["emptyDir"] = {}
    default_volume_sources(volume)
    if (projected := _dict(volume.get("projected"))) is not None:
        _default_projection(projected)
    if (downward := _dict(volume.get("downwardAPI"))) is not None:
        for item in _list_of_dicts(downward.get("items")):
            _default_field_refs(item)
    template = _dict((_dict(volume.get("ephemeral")) or {}).get("volumeClaimTemplate"))
    claim_spec = _dict((template or {}).get("spec"))
    if claim_spec is not None and claim_spec.get("volumeMode") is None:
        claim_spec["volumeMode"] = "Filesystem"


def _each_container(spec: MutableObject, action: Callable[[MutableObject], None]) -> None:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _list_of_dicts(spec.get(key)):
            action(container)


def default_pod_spec_fields(spec: MutableObject) -> None:
    """SetDefaults_PodSpec plus the nested defaults: what every PodSpec (pods and templates) gets."""
    _fill(spec, {"dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": DEFAULT_SCHEDULER_NAME})
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_PERIOD
    _each_container(spec, default_container)
    for volume in _list_of_dicts(spec.get("volumes")):
        default_volume(volume)


def _requests_from_limits(container: MutableObject) -> None:
    resources = _dict(container.get("resources"))
    limits = _dict((resources or {}).get("limits"))
    if resources is None or not limits:
        return
    requests = _dict(resources.get("requests"))
    if requests is None:
        requests = resources["requests"] = {}
    for name, quantity in limits.items():
        requests.setdefault(name, quantity)


def default_pod_only(spec: MutableObject) -> None:
    """SetDefaults_Pod's part (a Pod, never a template): requests from limits, enableServiceLinks, host ports.

    Also upstream's conversion rule since 1.27: a negative terminationGracePeriodSeconds is read as 1.
    """
    for key in ("initContainers", "containers"):
        for container in _list_of_dicts(spec.get(key)):
            _requests_from_limits(container)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for key in ("initContainers", "containers"):
            for container in _list_of_dicts(spec.get(key)):
                for port in _list_of_dicts(container.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and not isinstance(grace, bool) and grace < 0:
        spec["terminationGracePeriodSeconds"] = 1
