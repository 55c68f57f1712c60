"""MutatingWebhookConfigurations (admissionregistration.k8s.io/v1): webhooks that may change objects."""
from __future__ import annotations

from apiserver.registry.columns import sequence
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec
from apiserver.resources.admissionregistration.webhook_validation import MUTATING_STRATEGY

WEBHOOK_COLUMNS = (
    NAME,
    Column("Webhooks", "integer", description="Webhooks indicates the number of webhooks registered in this "
                                               "configuration",
           value=lambda obj, now: len(sequence(obj.get("webhooks")))),
    AGE,
)

SPEC = ResourceSpec(
    group="admissionregistration.k8s.io", version="v1", kind="MutatingWebhookConfiguration",
    plural="mutatingwebhookconfigurations", namespaced=False, categories=("api-extensions",),
    columns=WEBHOOK_COLUMNS, strategy=MUTATING_STRATEGY,
)
