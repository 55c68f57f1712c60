"""`--admission-control-config-file`: the AdmissionConfiguration that gives plugins their configuration.

The file is an `apiserver.config.k8s.io/v1` (or v1alpha1) AdmissionConfiguration, YAML or JSON, whose
`plugins` entries name a plugin and carry its configuration inline (`configuration`) or in another file
(`path`, relative to the configuration file's directory). A plugin reads only its own entry; plugins without
configuration here ignore theirs, as upstream's do. Problems stop the server at start with kube-apiserver's
wording (`failed to initialize admission: failed to read plugin config: ...`).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.meta.objects import JSONDict

GROUP: Final = "apiserver.config.k8s.io"
VERSIONS: Final = ("v1", "v1alpha1")
KIND: Final = "AdmissionConfiguration"
PREFIX: Final = "failed to initialize admission: "


class AdmissionConfigError(ValueError):
    """The admission configuration cannot be used; the message is kube-apiserver's start-up error."""


@dataclass(frozen=True, slots=True)
class AdmissionConfiguration:
    """Each configured plugin's configuration object, by plugin name."""

    plugins: Mapping[str, JSONDict] = field(default_factory=dict)

    def for_plugin(self, name: str) -> JSONDict | None:
        return self.plugins.get(name)


def decode_document(data: str) -> Any:
    """JSON or YAML, as upstream's universal decoder accepts either."""
    try:
        return json.loads(data)
    except ValueError:
        return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise AdmissionConfigError(f"{PREFIX}failed to read plugin config: unable to read admission control "
                                   f'configuration from "{path}" [open {path}: {reason}]') from None


def _decode(path: Path) -> JSONDict:
    try:
        document = decode_document(_read_text(path))
    except yaml.YAMLError as error:
        raise AdmissionConfigError(f"{PREFIX}failed to read plugin config: error converting YAML to JSON: "
                                   f"{error}") from None
    if not isinstance(document, dict):
        raise AdmissionConfigError(f"{PREFIX}failed to read plugin config: couldn't get version/kind; json parse "
                                   "error: the configuration is not an object")
    return document


def _check_kind(document: JSONDict) -> None:
    api_version, kind = str(document.get("apiVersion") or ""), str(document.get("kind") or "")
    if not api_version:
        raise AdmissionConfigError(f"{PREFIX}failed to read plugin config: Object 'apiVersion' is missing")
    if not kind:
        raise AdmissionConfigError(f"{PREFIX}failed to read plugin config: Object 'Kind' is missing")
    group, _, version = api_version.rpartition("/")
    if kind != KIND or group != GROUP or version not in VERSIONS:
        raise AdmissionConfigError(f'{PREFIX}failed to read plugin config: no kind "{kind}" is registered for '
                                   f'version "{api_version}"')


def _plugin_configuration(entry: JSONDict, base: Path) -> JSONDict | None:
    name = str(entry.get("name") or "")
    configuration = entry.get("configuration")
    if isinstance(configuration, dict):
        return configuration
    if entry.get("path"):
        plugin_path = Path(str(entry["path"]))
        plugin_path = plugin_path if plugin_path.is_absolute() else base / plugin_path
        try:
            document = decode_document(plugin_path.read_text())
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise AdmissionConfigError(f'{PREFIX}couldn\'t init admission plugin "{name}": unable to read '
                                       f"configuration from {go_path(plugin_path)} [open {plugin_path}: "
                                       f"{reason}]") from None
        except yaml.YAMLError as error:
            raise AdmissionConfigError(f'{PREFIX}couldn\'t init admission plugin "{name}": {error}') from None
        return document if isinstance(document, dict) else None
    return None


def go_path(path: Path) -> str:
    return f'"{path}"'


def read_admission_configuration(path: str) -> AdmissionConfiguration:
    """The configuration in `path`; an empty one for "". Raises AdmissionConfigError."""
    if not path:
        return AdmissionConfiguration()
    file_path = Path(path)
    document = _decode(file_path)
    _check_kind(document)
    plugins: dict[str, JSONDict] = {}
    for entry in document.get("plugins") or ():
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        configuration = _plugin_configuration(entry, file_path.parent)
        if configuration is not None:
            plugins[str(entry["name"])] = configuration
    return AdmissionConfiguration(plugins)
