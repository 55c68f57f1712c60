"""Containers and init containers of a PodSpec: upstream v1.32's validateContainers and validateInitContainers.

Each container gets the common rules (name, image, ports, env, envFrom, volume mounts, pull policy, resources),
then the rules of its kind (probes and lifecycle hooks, restartPolicy), in upstream's order and with its
messages. Security contexts and resize policies are not checked here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_label,
    is_dns1123_subdomain,
    non_negative,
)
from apiserver.resources.core.podspec_fields import (
    ENV_FIELD_PATHS,
    is_valid_port_name,
    items,
    mapping,
    number,
    text,
    validate_key_selector,
    validate_local_descending_path,
    validate_object_field_selector,
    validate_port_num_or_name,
    validate_port_number,
    validate_resource_field_selector,
)
from apiserver.resources.core.podspec_resources import validate_resource_requirements

PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES: Final = ("File", "FallbackToLogsOnError")
HTTP_SCHEMES: Final = ("HTTP", "HTTPS")
_ENV_NAME_MESSAGE: Final = (
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
)
_INIT_FORBIDDEN: Final = "may not be set for init containers without restartPolicy=Always"


def _env_name_errors(name: str) -> list[str]:
    # RelaxedEnvironmentVariableValidation is on by default in v1.32.
    if any(ord(char) > 126 or ord(char) < 32 or char == "=" for char in name):
        return [_ENV_NAME_MESSAGE]
    return []


def validate_ports(ports: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        port_path = path.index(index)
        name = text(port.get("name"))
        if name:
            messages = is_valid_port_name(name)
            errors.extend(FieldError.invalid(port_path.child("name"), name, message) for message in messages)
            if not messages and name in names:
                errors.append(FieldError.duplicate(port_path.child("name"), name))
            names.add(name)
        if not port.get("containerPort"):
            errors.append(FieldError.required(port_path.child("containerPort")))
        else:
            errors.extend(validate_port_number(port.get("containerPort"), port_path.child("containerPort")))
        if port.get("hostPort"):
            errors.extend(validate_port_number(port.get("hostPort"), port_path.child("hostPort")))
        protocol = text(port.get("protocol"))
        if not protocol:
            errors.append(FieldError.required(port_path.child("protocol")))
        elif protocol not in PROTOCOLS:
            errors.append(FieldError.not_supported(port_path.child("protocol"), protocol, PROTOCOLS))
    return errors


def validate_env(env: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, variable in enumerate(env):
        variable_path = path.index(index)
        name = text(variable.get("name"))
        if not name:
            errors.append(FieldError.required(variable_path.child("name")))
        errors.extend(FieldError.invalid(variable_path.child("name"), name, message)
                      for message in _env_name_errors(name))
        if variable.get("valueFrom") is not None:
            errors.extend(_validate_value_from(variable, variable_path.child("valueFrom")))
    return errors


def _validate_value_from(variable: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    source = mapping(variable.get("valueFrom"))
    errors: FieldErrors = []
    count = 0
    if (field_ref := source.get("fieldRef")) is not None:
        count += 1
        errors.extend(validate_object_field_selector(mapping(field_ref), ENV_FIELD_PATHS, path.child("fieldRef")))
    if (resource_ref := source.get("resourceFieldRef")) is not None:
        count += 1
        errors.extend(validate_resource_field_selector(mapping(resource_ref), path.child("resourceFieldRef"),
                                                       volume=False))
    for key in ("configMapKeyRef", "secretKeyRef"):
        if (selector := source.get(key)) is not None:
            count += 1
            errors.extend(validate_key_selector(mapping(selector), path.child(key)))
    if count == 0:
        detail = "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
        errors.append(FieldError.invalid(path, "", detail))
    elif text(variable.get("value")):
        errors.append(FieldError.invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errors.append(FieldError.invalid(path, "", "may not have more than one field specified at a time"))
    return errors


def validate_env_from(sources: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, source in enumerate(sources):
        source_path = path.index(index)
        prefix = text(source.get("prefix"))
        errors.extend(FieldError.invalid(source_path.child("prefix"), prefix, message)
                      for message in _env_name_errors(prefix))
        count = 0
        for key in ("configMapRef", "secretRef"):
            if (reference := source.get(key)) is None:
                continue
            count += 1
            name, name_path = text(mapping(reference).get("name")), source_path.child(key, "name")
            if not name:
                errors.append(FieldError.required(name_path))
            else:
                errors.extend(FieldError.invalid(name_path, name, message) for message in is_dns1123_subdomain(name))
        if count == 0:
            errors.append(FieldError.invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errors.append(FieldError.invalid(path, "", "may not have more than one field specified at a time"))
    return errors


def validate_volume_mounts(mounts: Sequence[Mapping[str, Any]], volumes: set[str], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    mount_points: set[str] = set()
    for index, mount in enumerate(mounts):
        mount_path = path.index(index)
        name, target = text(mount.get("name")), text(mount.get("mountPath"))
        if not name:
            errors.append(FieldError.required(mount_path.child("name")))
        if name not in volumes:
            errors.append(FieldError.not_found(mount_path.child("name"), name))
        if not target:
            errors.append(FieldError.required(mount_path.child("mountPath")))
        if target in mount_points:
            errors.append(FieldError.invalid(mount_path.child("mountPath"), target, "must be unique"))
        mount_points.add(target)
        if sub_path := text(mount.get("subPath")):
            errors.extend(validate_local_descending_path(sub_path, path.child("subPath")))
        if sub_path_expr := text(mount.get("subPathExpr")):
            if sub_path:
                errors.append(FieldError.invalid(mount_path.child("subPathExpr"), sub_path_expr,
                                                 "subPathExpr and subPath are mutually exclusive"))
            errors.extend(validate_local_descending_path(sub_path_expr, path.child("subPathExpr")))
    return errors


def _validate_handler(handler: Mapping[str, Any], path: FieldPath, kinds: Sequence[str]) -> FieldErrors:
    """validateHandler: exactly one of `kinds` (exec, httpGet, tcpSocket, and grpc for probes or sleep for hooks)."""
    errors: FieldErrors = []
    found = 0
    for kind in kinds:
        action = handler.get(kind)
        if action is None:
            continue
        if found:
            errors.append(FieldError.forbidden(path.child(kind), "may not specify more than 1 handler type"))
            continue
        found += 1
        errors.extend(_validate_action(kind, mapping(action), path.child(kind)))
    if not found:
        errors.append(FieldError.required(path, "must specify a handler type"))
    return errors


def _validate_action(kind: str, action: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    if kind == "exec":
        return [] if action.get("command") else [FieldError.required(path.child("command"))]
    if kind == "httpGet":
        errors = [] if text(action.get("path")) else [FieldError.required(path.child("path"))]
        errors.extend(validate_port_num_or_name(action.get("port"), path.child("port")))
        scheme = text(action.get("scheme"))
        if scheme not in HTTP_SCHEMES:
            errors.append(FieldError.not_supported(path.child("scheme"), scheme, HTTP_SCHEMES))
        return errors
    if kind == "tcpSocket":
        return validate_port_num_or_name(action.get("port"), path.child("port"))
    if kind == "grpc":
        return validate_port_number(action.get("port"), path.child("port"))
    return non_negative(number(action.get("seconds")), path.child("seconds"))


def validate_probe(probe: Mapping[str, Any] | None, path: FieldPath) -> FieldErrors:
    if probe is None:
        return []
    errors = _validate_handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errors.extend(non_negative(number(probe.get(key)), path.child(key)))
    grace = number(probe.get("terminationGracePeriodSeconds"))
    if grace is not None and grace <= 0:
        errors.append(FieldError.invalid(path.child("terminationGracePeriodSeconds"), grace, "must be greater than 0"))
    return errors


def _validate_probes_and_hooks(container: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    lifecycle = container.get("lifecycle")
    for hook in ("postStart", "preStop"):
        if (handler := mapping(lifecycle).get(hook)) is not None:
            errors.extend(_validate_handler(mapping(handler), path.child("lifecycle", hook),
                                            ("exec", "httpGet", "tcpSocket", "sleep")))
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(kind)
        errors.extend(validate_probe(mapping(probe) if probe is not None else None, path.child(kind)))
        if probe is None:
            continue
        threshold = number(mapping(probe).get("successThreshold"))
        if kind != "readinessProbe" and threshold is not None and threshold != 1:
            errors.append(FieldError.invalid(path.child(kind, "successThreshold"), threshold, "must be 1"))
        grace = mapping(probe).get("terminationGracePeriodSeconds")
        if kind == "readinessProbe" and grace is not None:
            errors.append(FieldError.invalid(path.child(kind, "terminationGracePeriodSeconds"), grace,
                                             "must not be set for readinessProbes"))
    return errors


def validate_container_common(container: Mapping[str, Any], volumes: set[str], path: FieldPath) -> FieldErrors:
    """validateContainerCommon: the rules every kind of container shares."""
    errors: FieldErrors = []
    name = text(container.get("name"))
    if not name:
        errors.append(FieldError.required(path.child("name")))
    else:
        errors.extend(FieldError.invalid(path.child("name"), name, message) for message in is_dns1123_label(name))
    if not text(container.get("image")):
        errors.append(FieldError.required(path.child("image")))
    policy = text(container.get("terminationMessagePolicy"))
    if not policy:
        errors.append(FieldError.required(path.child("terminationMessagePolicy"),
                                          "must be 'File' or 'FallbackToLogsOnError'"))
    elif policy not in TERMINATION_MESSAGE_POLICIES:
        errors.append(FieldError.not_supported(path.child("terminationMessagePolicy"), policy,
                                               TERMINATION_MESSAGE_POLICIES))
    errors.extend(validate_ports(items(container.get("ports")), path.child("ports")))
    errors.extend(validate_env(items(container.get("env")), path.child("env")))
    errors.extend(validate_env_from(items(container.get("envFrom")), path.child("envFrom")))
    errors.extend(validate_volume_mounts(items(container.get("volumeMounts")), volumes, path.child("volumeMounts")))
    pull_policy = text(container.get("imagePullPolicy"))
    if not pull_policy:
        errors.append(FieldError.required(path.child("imagePullPolicy")))
    elif pull_policy not in PULL_POLICIES:
        errors.append(FieldError.not_supported(path.child("imagePullPolicy"), pull_policy, PULL_POLICIES))
    errors.extend(validate_resource_requirements(mapping(container.get("resources")), path.child("resources")))
    return errors


def validate_containers(containers: Sequence[Mapping[str, Any]], volumes: set[str], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if not containers:
        errors.append(FieldError.required(path))
    names: set[str] = set()
    for index, container in enumerate(containers):
        container_path = path.index(index)
        errors.extend(validate_container_common(container, volumes, container_path))
        errors.extend(_validate_probes_and_hooks(container, container_path))
        name = text(container.get("name"))
        if name in names:
            errors.append(FieldError.duplicate(container_path.child("name"), name))
        names.add(name)
        if container.get("restartPolicy") is not None:
            errors.append(FieldError.forbidden(container_path.child("restartPolicy"),
                                               "may not be set for non-init containers"))
    errors.extend(_host_port_conflicts(containers, path))
    return errors


def validate_init_containers(init_containers: Sequence[Mapping[str, Any]], containers: Sequence[Mapping[str, Any]],
                             volumes: set[str], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    names = {text(container.get("name")) for container in containers}
    for index, container in enumerate(init_containers):
        container_path = path.index(index)
        errors.extend(validate_container_common(container, volumes, container_path))
        restart_policy = container.get("restartPolicy")
        if restart_policy is not None and restart_policy != "Always":
            errors.append(FieldError.not_supported(container_path.child("restartPolicy"), restart_policy, ["Always"]))
        name = text(container.get("name"))
        if name in names:
            errors.append(FieldError.duplicate(container_path.child("name"), name))
        elif name:
            names.add(name)
        errors.extend(_host_port_conflicts([container], path))
        if restart_policy == "Always":
            errors.extend(_validate_probes_and_hooks(container, container_path))
            continue
        for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if container.get(key) is not None:
                detail = "may not be set for init containers" if key == "readinessProbe" else _INIT_FORBIDDEN
                errors.append(FieldError.forbidden(container_path.child(key), detail))
    return errors


def _host_port_conflicts(containers: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    """checkHostPortConflicts: one host IP, protocol and host port per pod."""
    errors: FieldErrors = []
    seen: set[str] = set()
    for container_index, container in enumerate(containers):
        for port_index, port in enumerate(items(container.get("ports"))):
            host_port = number(port.get("hostPort"))
            if not host_port:
                continue
            key = f"{text(port.get('hostIP'))}/{text(port.get('protocol'))}/{host_port}"
            if key in seen:
                port_path = path.index(container_index).child("ports").index(port_index).child("hostPort")
                errors.append(FieldError.duplicate(port_path, key))
            seen.add(key)
    return errors
