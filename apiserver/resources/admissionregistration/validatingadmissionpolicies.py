"""ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1): in-process CEL validation rules."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import UNSET, dig, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.resources.admissionregistration.policy_validation import POLICY_STRATEGY


def _param_kind(obj: JSONObject, now: datetime) -> str:
    kind = dig(obj, "spec", "paramKind")
    if kind is None:
        return UNSET
    return f"{text(dig(kind, 'apiVersion'))}/{text(dig(kind, 'kind'))}"


COLUMNS = (
    NAME,
    Column("Validations", "integer",
           description="Validations indicates the number of validation rules defined in this configuration",
           value=lambda obj, now: len(sequence(dig(obj, "spec", "validations")))),
    Column("ParamKind", "string",
           description="ParamKind specifies the kind of resources used to parameterize this policy",
           value=_param_kind),
    AGE,
)

SPEC = ResourceSpec(
    group="admissionregistration.k8s.io", version="v1", kind="ValidatingAdmissionPolicy",
    plural="validatingadmissionpolicies", namespaced=False, categories=("api-extensions",),
    subresources=(Subresource("status", "ValidatingAdmissionPolicy"),), columns=COLUMNS, strategy=POLICY_STRATEGY,
)
