"""PodTemplates (core/v1): stored pod templates; the printer shows containers and images without -o wide.

The strategy applies the PodTemplateSpec defaults and validation shared with every workload (podspec.py), at
`template`, as upstream's ValidatePodTemplate does (pod-specific annotations included); disabled DRA fields
(resource claims) are dropped as for pods.
"""
from __future__ import annotations

from typing import Final

from apiserver.meta.validation import FieldErrors, FieldPath
from apiserver.registry.columns import dig, format_labels
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import NAME, Column, ResourceSpec
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.podspec import default_pod_template, validate_pod_template
from apiserver.resources.core.podspec_misc import drop_disabled_fields
from apiserver.resources.template_columns import containers_column, images_column

TEMPLATE_PATH: Final = FieldPath("template")


def _template(obj: MutableObject) -> MutableObject:
    template = obj.get("template")
    if not isinstance(template, dict):
        template = obj["template"] = {}
    return template


def _spec_of(template: MutableObject) -> MutableObject:
    spec = template.get("spec")
    return spec if isinstance(spec, dict) else {}


class PodTemplateStrategy(DefaultStrategy):
    """Pod template defaults and validation at `template`."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_pod_template(_template(obj))

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_pod_template(_template(obj))
        drop_disabled_fields(_spec_of(_template(obj)), None)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_pod_template(_template(obj))
        old_template = old.get("template")
        old_spec = old_template.get("spec") if isinstance(old_template, dict) else None
        drop_disabled_fields(_spec_of(_template(obj)), old_spec if isinstance(old_spec, dict) else {})

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_pod_template(_template(obj), TEMPLATE_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_pod_template(_template(obj), TEMPLATE_PATH)


COLUMNS = (
    NAME,
    containers_column("template", "spec", priority=0),
    images_column("template", "spec", priority=0),
    Column("Pod Labels", "string", description="The labels for the pod template.",
           value=lambda obj, now: format_labels(dig(obj, "template", "metadata", "labels"))),
)

SPEC = ResourceSpec(group="", version="v1", kind="PodTemplate", plural="podtemplates", namespaced=True,
                    strategy=PodTemplateStrategy(), columns=COLUMNS)
