"""`--runtime-config`: which group-versions and resources of the catalog are served, as kube-apiserver v1.32 decides.

The value is a comma-separated list of `key=value` pairs read like component-base's ConfigurationMap: pairs are
trimmed, empty ones skipped, a key without `=` gets the empty value, and a repeated key keeps its last value.
Keys, in the order upstream applies them:

- `api/all`, `api/ga`, `api/beta`, `api/alpha` switch every matching version on or off (value exactly `true` or
  `false`);
- `<group>/<version>` switches one version; the core group is `/v1` (an empty group name), because
  `v1` alone has one token and `api/v1` names a group called `api`, both rejected as upstream rejects them;
- `<group>/<version>/<resource>` switches one resource and wins over its version's setting.

Group-version values use Go's strconv.ParseBool spellings, and an empty value means true. Validation and error
messages follow APIEnablementOptions.Validate, validateAPIPriorityAndFairness and resourceconfig's
MergeAPIResourceConfigs (k8s.io/apiserver/pkg/server/{options/api_enablement.go,resourceconfig/helpers.go}), and
the aggregator's refusal to start without apiregistration.k8s.io/v1. Several problems found by the same stage
are reported together as `[first, second]`, as Kubernetes' error aggregates print.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from apiserver.meta.errors import go_quote
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.spec import ResourceSpec, group_version_string

API_ALL, API_GA, API_BETA, API_ALPHA = "api/all", "api/ga", "api/beta", "api/alpha"

_GA = re.compile(r"v\d+")
_BETA = re.compile(r"v\d+beta\d+")
_ALPHA = re.compile(r"v\d+alpha\d+")

# Applied in this order, before any group-version or resource key.
VERSION_MATCHERS: Mapping[str, Callable[[str], bool]] = {
    API_ALL: lambda version: True,
    API_GA: lambda version: _GA.fullmatch(version) is not None,
    API_BETA: lambda version: _BETA.fullmatch(version) is not None,
    API_ALPHA: lambda version: _ALPHA.fullmatch(version) is not None,
}

# The priority-and-fairness filter needs its API; upstream checks these keys, most specific first.
_FLOWCONTROL_KEYS = ("flowcontrol.apiserver.k8s.io/v1", API_GA, API_ALL)
_AGGREGATOR_GROUP_VERSION = ("apiregistration.k8s.io", "v1")
_AGGREGATOR_RESOURCE = "apiservices"
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

GroupVersion = tuple[str, str]
GroupVersionResource = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """The parsed flag: each key once, in the order first given, with the last value given for it."""

    entries: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        return next((value for existing, value in self.entries if existing == key), None)

    def flag_string(self) -> str:
        """ConfigurationMap.String(): the `key=value` pairs sorted and comma-joined."""
        return ",".join(sorted(f"{key}={value}" for key, value in self.entries))


@dataclass(frozen=True, slots=True)
class Enablement:
    """What the flag switches explicitly; anything it does not name keeps its default (served)."""

    versions: Mapping[GroupVersion, bool]
    resources: Mapping[GroupVersionResource, bool]

    def serves(self, spec: ResourceSpec) -> bool:
        """Upstream's ResourceEnabled: an explicit resource setting wins over its version's."""
        explicit = self.resources.get(spec.resource_key)
        if explicit is not None:
            return explicit
        return self.versions.get((spec.group, spec.version), True)


def parse_runtime_config(*values: str) -> RuntimeConfig:
    """Read one or more occurrences of the flag; raises ValueError for what upstream rejects without a catalog.

    Those are: `api/all=false` alone, a key that is not `<group>/<version>[/<resource>]` or one of the `api/*`
    keys, and turning off the flowcontrol API that priority and fairness needs.
    """
    config = read_runtime_config(*values)
    _raise_if_any(validation_problems(config, None))
    return config


def read_runtime_config(*values: str) -> RuntimeConfig:
    """ConfigurationMap.Set over each value, without any validation."""
    entries: dict[str, str] = {}
    for value in values:
        for pair in value.split(","):
            if pair:
                key, separator, setting = pair.partition("=")
                entries[key.strip()] = setting.strip() if separator else ""
    return RuntimeConfig(tuple(entries.items()))


def apply_runtime_config(catalog: ResourceCatalog, value: str | RuntimeConfig) -> ResourceCatalog:
    """The catalog with everything the flag turns off removed (their paths then 404 and vanish from discovery).

    Raises ValueError with upstream's messages: first the option validation (unknown groups included), then the
    first problem met while applying the keys (unregistered version, bad value, upper-case resource), then
    `API group/version apiregistration.k8s.io/v1 must be enabled` when the aggregator's API would be disabled.
    """
    config = value if isinstance(value, RuntimeConfig) else read_runtime_config(value)
    _raise_if_any(validation_problems(config, catalog))
    enablement = resolve_enablement(config, catalog)
    _require_aggregator_api(catalog, enablement)
    kept = [spec for spec in catalog.specs if enablement.serves(spec)]
    if len(kept) == len(catalog.specs):
        return catalog
    emptied = catalog
    for group in catalog.groups():
        emptied = emptied.without(group)
    return emptied.with_specs(*kept)


def resolve_enablement(config: RuntimeConfig, catalog: ResourceCatalog) -> Enablement:
    """MergeAPIResourceConfigs over the catalog's group-versions (all served by default); ValueError on a bad key."""
    versions = {group_version: True for group_version in catalog.group_versions()}
    for key, matches in VERSION_MATCHERS.items():
        setting = config.get(key)
        if setting is None:
            continue
        if setting not in ("true", "false"):
            raise ValueError(f"invalid value {key}={setting}")
        for group, version in versions:
            if matches(version):
                versions[(group, version)] = setting == "true"
    version_settings, resource_settings = _explicit_settings(config, catalog)
    versions.update(version_settings)
    return Enablement(versions=versions, resources=resource_settings)


def _explicit_settings(
    config: RuntimeConfig, catalog: ResourceCatalog
) -> tuple[dict[GroupVersion, bool], dict[GroupVersionResource, bool]]:
    served = set(catalog.group_versions())
    groups = set(catalog.groups())
    version_settings: dict[GroupVersion, bool] = {}
    resource_settings: dict[GroupVersionResource, bool] = {}
    for key, setting in config.entries:
        tokens = key.split("/")
        if key in VERSION_MATCHERS or len(tokens) not in (2, 3) or tokens[0] not in groups:
            continue  # rejected by validation already, or (unknown groups) left to another registry upstream
        group_version = (tokens[0], tokens[1])
        if group_version not in served:
            raise ValueError(f"group version {group_version_string(*group_version)} that has not been registered")
        enabled = _parse_bool(key, setting)
        if len(tokens) == 2:
            version_settings[group_version] = enabled
        elif tokens[2] != tokens[2].lower():
            raise ValueError(
                f"invalid key {key}: group/version/resource and resource is always lowercase plural, "
                f"not {go_quote(tokens[2])}"
            )
        else:
            resource_settings[(*group_version, tokens[2])] = enabled
    return version_settings, resource_settings


def _parse_bool(key: str, setting: str) -> bool:
    """getRuntimeConfigValue: empty means true, otherwise Go's strconv.ParseBool."""
    if setting == "" or setting in _TRUE:
        return True
    if setting in _FALSE:
        return False
    raise ValueError(
        f"invalid value of {key}: {setting}, err: strconv.ParseBool: parsing {go_quote(setting)}: invalid syntax"
    )


def validation_problems(config: RuntimeConfig, catalog: ResourceCatalog | None) -> list[str]:
    """Options.Validate's runtime-config problems, in upstream's order; `catalog` None skips the group check.

    Upstream reports these together with the other flags' problems in one aggregate, which is why they are
    returned rather than raised.
    """
    problems = _priority_and_fairness_problems(config)
    if config.get(API_ALL) == "false" and len(config.entries) == 1:
        return [*problems, f"invalid key with only {API_ALL}=false"]
    groups: list[str] = []
    for key, _ in config.entries:
        tokens = key.split("/")
        if key in VERSION_MATCHERS:
            continue
        if len(tokens) not in (2, 3):
            return [*problems, f"runtime-config invalid key {key}"]
        groups.append(tokens[0])
    unknown = [group for group in groups if catalog is not None and group not in catalog.groups()]
    if unknown:
        problems.append(f"unknown api groups {','.join(unknown)}")
    return problems


def _priority_and_fairness_problems(config: RuntimeConfig) -> list[str]:
    """validateAPIPriorityAndFairness, with --enable-priority-and-fairness at its default (true)."""
    flag = config.flag_string()
    for key in _FLOWCONTROL_KEYS:
        if f"{key}=false" in flag:
            return [f"--runtime-config={key}=false conflicts with --enable-priority-and-fairness=true"]
        if f"{key}=true" in flag:
            return []
    return []


def _require_aggregator_api(catalog: ResourceCatalog, enablement: Enablement) -> None:
    aggregator = catalog.lookup(*_AGGREGATOR_GROUP_VERSION, _AGGREGATOR_RESOURCE)
    if aggregator is not None and not enablement.serves(aggregator):
        raise ValueError(f"API group/version {group_version_string(*_AGGREGATOR_GROUP_VERSION)} must be enabled")


def _raise_if_any(problems: Iterable[str]) -> None:
    """Kubernetes' error aggregate: one message alone, several (deduplicated) in brackets."""
    distinct = list(dict.fromkeys(problems))
    if len(distinct) == 1:
        raise ValueError(distinct[0])
    if distinct:
        raise ValueError("[" + ", ".join(distinct) + "]")
