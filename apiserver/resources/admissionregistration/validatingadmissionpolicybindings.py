"""ValidatingAdmissionPolicyBindings (admissionregistration.k8s.io/v1): apply a policy, with its parameters."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import UNSET, dig, label_selector_string, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec
from apiserver.resources.admissionregistration.policy_validation import BINDING_STRATEGY


def param_ref(obj: JSONObject, now: datetime | None = None) -> str:
    """`namespace/name`, `*/name` when the namespace is unknown, a selector, or `<unset>`."""
    reference = dig(obj, "spec", "paramRef")
    if reference is None:
        return UNSET
    if name := text(dig(reference, "name")):
        return f"{text(dig(reference, 'namespace')) or '*'}/{name}"
    selector = dig(reference, "selector")
    if selector is not None:
        return label_selector_string(selector) or ""
    return UNSET


COLUMNS = (
    NAME,
    Column("PolicyName", "string",
           description="PolicyName indicates the policy definition which the policy binding binded to",
           value=lambda obj, now: text(dig(obj, "spec", "policyName"))),
    Column("ParamRef", "string",
           description="ParamRef indicates the param resource which sets the configration param",
           value=param_ref),
    AGE,
)

SPEC = ResourceSpec(
    group="admissionregistration.k8s.io", version="v1", kind="ValidatingAdmissionPolicyBinding",
    plural="validatingadmissionpolicybindings", namespaced=False, categories=("api-extensions",),
    columns=COLUMNS, strategy=BINDING_STRATEGY,
)
