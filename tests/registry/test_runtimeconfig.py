"""--runtime-config: upstream's syntax, validation messages and what ends up served."""
from __future__ import annotations

import pytest

from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.runtimeconfig import RuntimeConfig, apply_runtime_config, parse_runtime_config

FLOWCONTROL_ON = "flowcontrol.apiserver.k8s.io/v1=true"
AGGREGATOR_ON = "apiregistration.k8s.io/v1=true"


@pytest.fixture(scope="module")
def catalog() -> ResourceCatalog:
    return ResourceCatalog(builtin_specs())


def _served(catalog: ResourceCatalog) -> set[str]:
    return {f"{spec.group_version}/{spec.plural}" for spec in catalog.specs}


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        ("", ()),
        ("batch/v1=false", (("batch/v1", "false"),)),
        (" batch/v1 = false ,,apps/v1", (("batch/v1", "false"), ("apps/v1", ""))),
        ("apps/v1=false,apps/v1=true", (("apps/v1", "true"),)),
        ("apps/v1/x=a=b", (("apps/v1/x", "a=b"),)),
    ],
    ids=["empty", "one-pair", "trimmed-and-missing-value", "last-value-wins", "value-keeps-equals"],
)
def test_parse_reads_pairs_as_configuration_map_does(value: str, entries: tuple[tuple[str, str], ...]) -> None:
    assert parse_runtime_config(value) == RuntimeConfig(entries)


def test_parse_merges_repeated_flags_in_order() -> None:
    assert parse_runtime_config("batch/v1=false", "apps/v1=false,batch/v1=true") == RuntimeConfig(
        (("batch/v1", "true"), ("apps/v1", "false"))
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("api/all=false",
         "[--runtime-config=api/all=false conflicts with --enable-priority-and-fairness=true, "
         "invalid key with only api/all=false]"),
        (f"api/all=false,{FLOWCONTROL_ON}", None),
        ("v1=false", "runtime-config invalid key v1"),
        ("apps/v1/deployments/status=false", "runtime-config invalid key apps/v1/deployments/status"),
        ("flowcontrol.apiserver.k8s.io/v1=false",
         "--runtime-config=flowcontrol.apiserver.k8s.io/v1=false conflicts with --enable-priority-and-fairness=true"),
        ("api/ga=false,apps/v1=true",
         "--runtime-config=api/ga=false conflicts with --enable-priority-and-fairness=true"),
        # ConfigurationMap.String() shows "flowcontrol.apiserver.k8s.io/v1=": not "=true", so api/ga decides.
        ("api/ga=false,flowcontrol.apiserver.k8s.io/v1",
         "--runtime-config=api/ga=false conflicts with --enable-priority-and-fairness=true"),
        ("api/all=false,api/ga=true", None),
    ],
    ids=["only-api-all-false", "api-all-false-keeping-flowcontrol", "bare-core-version", "four-tokens",
         "flowcontrol-off", "ga-off", "ga-off-flowcontrol-empty-value-still-conflicts", "ga-back-on"],
)
def test_parse_rejects_what_upstream_validation_rejects(value: str, message: str | None) -> None:
    if message is None:
        parse_runtime_config(value)
        return
    with pytest.raises(ValueError) as raised:
        parse_runtime_config(value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("api/v1=false", "unknown api groups api"),
        ("api/legacy=false", "unknown api groups api"),
        ("foo/v1=false,bar.example.com/v1beta1=true", "unknown api groups foo,bar.example.com"),
        ("apps/v2=true", "group version apps/v2 that has not been registered"),
        ("/v2=false", "group version v2 that has not been registered"),
        ("batch/v1=maybe",
         'invalid value of batch/v1: maybe, err: strconv.ParseBool: parsing "maybe": invalid syntax'),
        ("api/beta=off,batch/v1=false", "invalid value api/beta=off"),
        ("apps/v1/Deployments=false",
         'invalid key apps/v1/Deployments: group/version/resource and resource is always lowercase plural, '
         'not "Deployments"'),
        ("apiregistration.k8s.io/v1=false", "API group/version apiregistration.k8s.io/v1 must be enabled"),
        ("api/all=false,foo/v1=true",
         "[--runtime-config=api/all=false conflicts with --enable-priority-and-fairness=true, "
         "unknown api groups foo]"),
        ("apiregistration.k8s.io/v1/apiservices=false",
         "API group/version apiregistration.k8s.io/v1 must be enabled"),
        (f"api/all=false,{FLOWCONTROL_ON},/v1=true", "API group/version apiregistration.k8s.io/v1 must be enabled"),
    ],
    ids=["api-v1-is-a-group-named-api", "api-legacy-is-gone", "unknown-groups", "unknown-version",
         "unknown-core-version", "bad-bool", "bad-matcher-value", "upper-case-resource", "aggregator-off",
         "validation-problems-together",
         "aggregator-resource-off", "api-all-off-forgets-the-aggregator"],
)
def test_apply_rejects_with_upstreams_messages(catalog: ResourceCatalog, value: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        apply_runtime_config(catalog, value)
    assert str(raised.value) == message


def test_apply_without_flag_keeps_the_same_catalog(catalog: ResourceCatalog) -> None:
    assert apply_runtime_config(catalog, "") is catalog
    assert apply_runtime_config(catalog, "batch/v1=true,api/all=true") is catalog


def test_group_version_off_removes_it_from_catalog_and_discovery_order(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, "batch/v1=false")
    assert ("batch", "v1") not in served.group_versions()
    assert served.lookup("batch", "v1", "jobs") is None
    assert _served(catalog) - _served(served) == {"batch/v1/jobs", "batch/v1/cronjobs"}
    assert [gv for gv in catalog.group_versions() if gv != ("batch", "v1")] == list(served.group_versions())


def test_one_version_of_a_group_off_changes_the_preferred_version(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, "autoscaling/v2=false")
    assert served.versions("autoscaling") == ("v1",)
    assert served.priority("autoscaling", "v1") == catalog.priority("autoscaling", "v1")


def test_resource_off_keeps_the_rest_of_its_version(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, "apps/v1/deployments=false")
    assert served.lookup("apps", "v1", "deployments") is None
    assert served.lookup("apps", "v1", "statefulsets") is not None
    assert _served(catalog) - _served(served) == {"apps/v1/deployments"}


def test_resource_setting_wins_over_its_version(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, "apps/v1=false,apps/v1/deployments=true")
    assert [spec.plural for spec in served.resources("apps", "v1")] == ["deployments"]


def test_core_group_is_addressed_as_slash_v1(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, "/v1=false")
    assert "" not in served.groups()
    assert served.lookup("", "v1", "pods") is None


def test_api_all_false_keeps_only_what_is_turned_back_on(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, f"api/all=false,{FLOWCONTROL_ON},{AGGREGATOR_ON},/v1=true")
    assert served.group_versions() == (
        ("", "v1"), ("apiregistration.k8s.io", "v1"), ("flowcontrol.apiserver.k8s.io", "v1"),
    )


def test_api_ga_false_matches_every_ga_version(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, f"api/ga=false,{FLOWCONTROL_ON},{AGGREGATOR_ON}")
    assert served.group_versions() == (("apiregistration.k8s.io", "v1"), ("flowcontrol.apiserver.k8s.io", "v1"))


def test_api_beta_and_alpha_match_nothing_in_a_ga_catalog(catalog: ResourceCatalog) -> None:
    assert apply_runtime_config(catalog, "api/beta=false,api/alpha=false") is catalog


def test_empty_value_and_go_bool_spellings(catalog: ResourceCatalog) -> None:
    served = apply_runtime_config(catalog, "batch/v1=F,apps/v1=0,policy/v1")
    assert {("batch", "v1"), ("apps", "v1")}.isdisjoint(served.group_versions())
    assert ("policy", "v1") in served.group_versions()


def test_unknown_resource_of_a_known_version_is_accepted_and_changes_nothing(catalog: ResourceCatalog) -> None:
    assert _served(apply_runtime_config(catalog, "apps/v1/widgets=false")) == _served(catalog)
