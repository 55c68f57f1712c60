"""ValidatingWebhookConfigurations (admissionregistration.k8s.io/v1): webhooks that may reject objects."""
from __future__ import annotations

from apiserver.registry.spec import ResourceSpec
from apiserver.resources.admissionregistration.mutatingwebhookconfigurations import WEBHOOK_COLUMNS
from apiserver.resources.admissionregistration.webhook_validation import VALIDATING_STRATEGY

SPEC = ResourceSpec(
    group="admissionregistration.k8s.io", version="v1", kind="ValidatingWebhookConfiguration",
    plural="validatingwebhookconfigurations", namespaced=False, categories=("api-extensions",),
    columns=WEBHOOK_COLUMNS, strategy=VALIDATING_STRATEGY,
)
