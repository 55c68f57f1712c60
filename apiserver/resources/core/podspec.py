"""PodSpec and PodTemplateSpec: defaults and validation shared by pods and every workload template.

Contract (used by core/pods.py and by apps/, batch/, core/replicationcontrollers.py, core/podtemplates.py):
- `default_pod_spec(spec)` fills upstream v1.32's defaults into a PodSpec in place (SetDefaults_PodSpec,
  container defaults, imagePullPolicy from the image tag, ...).
- `default_pod_template(template)` does the same for a PodTemplateSpec (`{"metadata":…, "spec":…}`).
- `validate_pod_spec(spec, path)` returns the FieldErrors of a PodSpec at `path` (e.g. FieldPath("spec")).
- `validate_pod_template(template, path)` returns the FieldErrors of a PodTemplateSpec at `path` (labels and
  annotations of its metadata, then its spec), e.g. FieldPath("spec", "template").
"""
from __future__ import annotations

from typing import Any

from apiserver.meta.validation import FieldErrors, FieldPath

MutableObject = dict[str, Any]


def default_pod_spec(spec: MutableObject) -> None:
    """Fill upstream's PodSpec defaults in place (placeholder until the pod strategy lands)."""
    return None


def default_pod_template(template: MutableObject) -> None:
    """Fill upstream's defaults of a PodTemplateSpec's spec in place."""
    spec = template.get("spec")
    if isinstance(spec, dict):
        default_pod_spec(spec)


def validate_pod_spec(spec: MutableObject, path: FieldPath) -> FieldErrors:
    """The field errors of a PodSpec at `path` (placeholder until the pod strategy lands)."""
    return []


def validate_pod_template(template: MutableObject, path: FieldPath) -> FieldErrors:
    """The field errors of a PodTemplateSpec at `path` (placeholder until the pod strategy lands)."""
    return []
