"""Volumes of a PodSpec: upstream v1.32's ValidateVolumes and validateVolumeSource for the sources users meet.

Each volume needs a DNS-1123 label name, unique in the pod, and exactly one source. Only volumes without errors
count as defined for the volume mounts of containers (a mount of a broken volume is also `Not found`), as
upstream. The sources checked in depth: emptyDir, hostPath, secret, configMap, persistentVolumeClaim, nfs,
downwardAPI, projected (with serviceAccountToken, as the ServiceAccount admission adds), csi and ephemeral.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1123_label
from apiserver.resources.core.persistentvolumeclaims import validate_claim_spec
from apiserver.resources.core.podspec_fields import (
    VOLUME_FIELD_PATHS,
    items,
    mapping,
    number,
    text,
    validate_file_mode,
    validate_key_to_path,
    validate_local_non_reserved_path,
    validate_object_field_selector,
    validate_resource_field_selector,
)
from apiserver.resources.core.podspec_resources import quantity_of

# validateVolumeSource's order: the first source counts, every later one is "more than 1 volume type".
SOURCE_ORDER: Final = (
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs", "iscsi",
    "glusterfs", "flexVolume", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte", "downwardAPI", "fc",
    "flocker", "azureFile", "configMap", "vsphereVolume", "photonPersistentDisk", "portworxVolume", "azureDisk",
    "storageos", "projected", "scaleIO", "csi", "ephemeral", "image",
)
HOST_PATH_TYPES: Final = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                          "Socket")
MIN_TOKEN_EXPIRATION: Final = 600
MAX_TOKEN_EXPIRATION: Final = 2**32

SourceValidator = Callable[[Mapping[str, Any], FieldPath], FieldErrors]


def _required(source: Mapping[str, Any], path: FieldPath, *keys: str) -> FieldErrors:
    return [FieldError.required(path.child(key)) for key in keys if not source.get(key)]


def _empty_dir(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    limit = quantity_of(source.get("sizeLimit")) if source.get("sizeLimit") is not None else None
    if limit is not None and limit.value < 0:
        return [FieldError.forbidden(path.child("sizeLimit"), "SizeLimit field must be a valid resource quantity")]
    return []


def _host_path(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    target = text(source.get("path"))
    errors = [FieldError.required(path.child("path"))] if not target else []
    if ".." in target.split("/"):
        errors.append(FieldError.invalid(path.child("path"), target, "must not contain '..'"))
    kind = source.get("type")
    if kind is not None and kind not in HOST_PATH_TYPES:
        errors.append(FieldError.not_supported(path.child("type"), kind, HOST_PATH_TYPES))
    return errors


def _keyed_items(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, item in enumerate(items(source.get("items"))):
        errors.extend(validate_key_to_path(item, path.child("items").index(index)))
    return errors + validate_file_mode(source.get("defaultMode"), path.child("defaultMode"))


def _secret(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    return _required(source, path, "secretName") + _keyed_items(source, path)


def _config_map(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    return _required(source, path, "name") + _keyed_items(source, path)


def _claim(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    return _required(source, path, "claimName")


def _nfs(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors = _required(source, path, "server", "path")
    target = text(source.get("path"))
    if target and not target.startswith("/"):
        errors.append(FieldError.invalid(path.child("path"), target, "must be an absolute path"))
    return errors


def _downward_file(item: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateDownwardAPIVolumeFile; `path` is where upstream reports it (for projections, without the index)."""
    target = text(item.get("path"))
    errors = [FieldError.required(path.child("path"))] if not target else []
    errors.extend(validate_local_non_reserved_path(target, path.child("path")))
    if item.get("fieldRef") is not None:
        errors.extend(validate_object_field_selector(mapping(item.get("fieldRef")), VOLUME_FIELD_PATHS,
                                                     path.child("fieldRef")))
        if item.get("resourceFieldRef") is not None:
            errors.append(FieldError.invalid(path, "resource",
                                             "fieldRef and resourceFieldRef can not be specified simultaneously"))
    elif item.get("resourceFieldRef") is not None:
        errors.extend(validate_resource_field_selector(mapping(item.get("resourceFieldRef")),
                                                       path.child("resourceFieldRef"), volume=True))
    else:
        errors.append(FieldError.required(path, "one of fieldRef and resourceFieldRef is required"))
    return errors + validate_file_mode(item.get("mode"), path.child("mode"))


def _downward_api(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, item in enumerate(items(source.get("items"))):
        errors.extend(_downward_file(item, path.child("items").index(index)))
    return errors + validate_file_mode(source.get("defaultMode"), path.child("defaultMode"))


def _projected(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateProjectedVolumeSource: each source one kind; file paths unique across all of them."""
    errors = validate_file_mode(source.get("defaultMode"), path.child("defaultMode"))
    paths: set[str] = set()

    def claim_path(target: str, bad_value: str) -> None:
        if target in paths:
            errors.append(FieldError.invalid(path, bad_value, "conflicting duplicate paths"))
        paths.add(target)

    for index, projection in enumerate(items(source.get("sources"))):
        source_path = path.child("sources").index(index)
        count = 0
        for kind in ("secret", "configMap"):
            if (selected := projection.get(kind)) is None:
                continue
            count += 1
            selected = mapping(selected)
            errors.extend(_required(selected, source_path.child(kind), "name"))
            for item_index, item in enumerate(items(selected.get("items"))):
                errors.extend(validate_key_to_path(item, source_path.child(kind, "items").index(item_index)))
                if text(item.get("path")):
                    claim_path(text(item.get("path")), text(selected.get("name")))
        if (downward := projection.get("downwardAPI")) is not None:
            count += 1
            for item in items(mapping(downward).get("items")):
                errors.extend(_downward_file(item, source_path.child("downwardAPI")))
                if text(item.get("path")):
                    claim_path(text(item.get("path")), text(item.get("path")))
        if (token := projection.get("serviceAccountToken")) is not None:
            count += 1
            errors.extend(_token_projection(mapping(token), source_path.child("serviceAccountToken"), path))
        if projection.get("clusterTrustBundle") is not None:
            count += 1
        if count > 1:
            errors.append(FieldError.forbidden(source_path, "may not specify more than 1 volume type per source"))
    return errors


def _token_projection(token: Mapping[str, Any], path: FieldPath, volume_path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    seconds = number(token.get("expirationSeconds")) or 0
    if seconds < MIN_TOKEN_EXPIRATION:
        errors.append(FieldError.invalid(path.child("expirationSeconds"), seconds,
                                         "may not specify a duration less than 10 minutes"))
    if seconds > MAX_TOKEN_EXPIRATION:
        errors.append(FieldError.invalid(path.child("expirationSeconds"), seconds,
                                         "may not specify a duration larger than 2^32 seconds"))
    if not text(token.get("path")):
        errors.append(FieldError.required(volume_path.child("path")))
    return errors


def _csi(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    return _required(source, path, "driver")


def _ephemeral(source: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    template = source.get("volumeClaimTemplate")
    if template is None:
        return [FieldError.required(path.child("volumeClaimTemplate"))]
    spec = mapping(template).get("spec")
    return validate_claim_spec(dict(mapping(spec)), path.child("volumeClaimTemplate", "spec"))


_SOURCE_VALIDATORS: Final[dict[str, SourceValidator]] = {
    "emptyDir": _empty_dir, "hostPath": _host_path, "secret": _secret, "configMap": _config_map,
    "persistentVolumeClaim": _claim, "nfs": _nfs, "downwardAPI": _downward_api, "projected": _projected,
    "csi": _csi, "ephemeral": _ephemeral,
}


def validate_volume_source(volume: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    found = 0
    for kind in SOURCE_ORDER:
        source = volume.get(kind)
        if source is None:
            continue
        if found:
            errors.append(FieldError.forbidden(path.child(kind), "may not specify more than 1 volume type"))
            continue
        found += 1
        validator = _SOURCE_VALIDATORS.get(kind)
        if validator is not None:
            errors.extend(validator(mapping(source), path.child(kind)))
    if not found:
        errors.append(FieldError.required(path, "must specify a volume type"))
    return errors


def validate_volumes(volumes: Sequence[Mapping[str, Any]], path: FieldPath) -> tuple[set[str], FieldErrors]:
    """ValidateVolumes: the names of the valid volumes (what mounts may refer to), and the errors."""
    errors: FieldErrors = []
    names: set[str] = set()
    for index, volume in enumerate(volumes):
        volume_path = path.index(index)
        name_path = volume_path.child("name")
        found = validate_volume_source(volume, volume_path)
        name = text(volume.get("name"))
        if not name:
            found.append(FieldError.required(name_path))
        else:
            found.extend(FieldError.invalid(name_path, name, message) for message in is_dns1123_label(name))
        if name in names:
            found.append(FieldError.duplicate(name_path, name))
        if found:
            errors.extend(found)
        else:
            names.add(name)
    return names, errors
