"""Swagger 2.0 filtering and merging as kube-openapi's aggregator does it for kube-aggregator."""
from __future__ import annotations

import copy
from typing import Any

from apiserver.aggregation.openapi_merge import filter_spec_by_paths, merge_specs

GVK = "x-kubernetes-group-version-kind"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": "#/definitions/" + name}


def _op(name: str) -> dict[str, Any]:
    return {"get": {"responses": {"200": {"schema": _ref(name)}}}}


def test_filtering_drops_paths_and_the_definitions_only_they_used() -> None:
    spec = {"swagger": "2.0", "paths": {"/apis/w.io/v1/flunders": _op("W"), "/apis/other/v1/things": _op("T"),
                                        "/version": _op("Info")},
            "definitions": {"W": {"properties": {"meta": _ref("Meta")}}, "Meta": {"type": "object"},
                            "T": {"properties": {"meta": _ref("Meta")}}, "Info": {"type": "object"},
                            "Unused": {"type": "string"}}}
    before = copy.deepcopy(spec)
    filtered = filter_spec_by_paths(spec, ["/apis/w.io/v1/"])
    assert list(filtered["paths"]) == ["/apis/w.io/v1/flunders"]
    # Meta stays (W still uses it), T and Info go with their paths, Unused was never used so it stays.
    assert sorted(filtered["definitions"]) == ["Meta", "Unused", "W"]
    assert spec == before


def _dest() -> dict[str, Any]:
    return {"paths": {"/api/v1/pods": _op("Pod")},
            "definitions": {"Pod": {"type": "object", GVK: [{"group": "", "version": "v1", "kind": "Pod"}]},
                            "Meta": {"type": "object"}}}


def test_conflicting_paths_keep_the_destination_and_equal_definitions_are_shared() -> None:
    dest = _dest()
    source = {"paths": {"/api/v1/pods": _op("Other"), "/apis/w.io/v1/flunders": _op("Meta")},
              "definitions": {"Other": {"type": "string"}, "Meta": {"type": "object"}}}
    merge_specs(dest, source)
    assert dest["paths"]["/api/v1/pods"] == _op("Pod")
    assert dest["paths"]["/apis/w.io/v1/flunders"] == _op("Meta")
    assert "Other" not in dest["definitions"]  # used only by the path that lost
    assert dest["definitions"]["Meta"] == {"type": "object"}


def test_differing_definitions_are_renamed_with_their_references() -> None:
    dest = _dest()
    source = {"paths": {"/apis/w.io/v1/pods": _op("Pod")},
              "definitions": {"Pod": {"type": "object", "properties": {"x": {"type": "string"}}}}}
    merge_specs(dest, source)
    assert dest["paths"]["/apis/w.io/v1/pods"] == _op("Pod_v2")
    assert dest["definitions"]["Pod_v2"] == {"type": "object", "properties": {"x": {"type": "string"}}}
    again = {"paths": {"/apis/x.io/v1/pods": _op("Pod")},
             "definitions": {"Pod": {"type": "object", "properties": {"x": {"type": "string"}}}}}
    merge_specs(dest, again)
    assert dest["paths"]["/apis/x.io/v1/pods"] == _op("Pod_v2")  # the renamed equal one is reused
    assert "Pod_v3" not in dest["definitions"]


def test_definitions_equal_but_for_their_kinds_get_the_union_of_kinds() -> None:
    dest = _dest()
    source = {"paths": {"/apis/w.io/v1/pods": _op("Pod")},
              "definitions": {"Pod": {"type": "object", GVK: [{"group": "w.io", "version": "v1", "kind": "Pod"},
                                                              {"group": "", "version": "v1", "kind": "Pod"}]}}}
    merge_specs(dest, source)
    assert dest["paths"]["/apis/w.io/v1/pods"] == _op("Pod")
    assert dest["definitions"]["Pod"][GVK] == [{"group": "", "version": "v1", "kind": "Pod"},
                                               {"group": "w.io", "version": "v1", "kind": "Pod"}]


def test_a_source_whose_paths_all_conflict_adds_nothing() -> None:
    dest = _dest()
    merge_specs(dest, {"paths": {"/api/v1/pods": _op("X")}, "definitions": {"X": {"type": "string"}}})
    assert dest == _dest()
