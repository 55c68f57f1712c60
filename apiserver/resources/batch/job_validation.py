"""Job specs: defaults, the generated selector and validation, shared by Jobs and CronJobs' job templates.

Upstream: pkg/apis/batch/v1/defaults.go (SetDefaults_Job), pkg/registry/batch/job/strategy.go (generateSelector)
and pkg/apis/batch/validation (validateJobSpec, ValidateJobSpec, validateGeneratedSelector); the podFailurePolicy,
successPolicy, managedBy and Indexed-limit rules live in job_policies.
"""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.govalues import go_invalid, go_label_selector, go_string_map
from apiserver.meta.selector_validation import validate_label_selector
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1123_label
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.batch import job_policies as policies
from apiserver.resources.core.podspec import validate_pod_template

MutableObject = dict[str, Any]

CONTROLLER_UID: Final = "batch.kubernetes.io/controller-uid"
JOB_NAME: Final = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID: Final = "controller-uid"
LEGACY_JOB_NAME: Final = "job-name"
MAX_INT32: Final = 2**31 - 1
NON_INDEXED, INDEXED = "NonIndexed", "Indexed"
FAILED, TERMINATING_OR_FAILED = "Failed", "TerminatingOrFailed"
ON_FAILURE, NEVER = "OnFailure", "Never"
MAX_PARALLELISM_INDEXED: Final = 100000


def default_job(job: MutableObject) -> None:
    """batch/v1 SetDefaults_Job (and the pod template's defaults)."""
    spec = rules.child(job, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    rules.set_default(spec, "parallelism", 1)
    rules.set_default(spec, "backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    labels = rules.mapping_of(spec, "template", "metadata").get("labels")
    metadata = rules.child(job, "metadata")
    if isinstance(labels, dict) and not metadata.get("labels"):
        metadata["labels"] = dict(labels)
    rules.set_default(spec, "completionMode", NON_INDEXED)
    rules.set_default(spec, "suspend", False)
    policy = spec.get("podFailurePolicy")
    rules.set_default(spec, "podReplacementPolicy", FAILED if policy is not None else TERMINATING_OR_FAILED)
    _default_pod_conditions(policy)
    rules.default_template(spec.get("template"))


def _default_pod_conditions(policy: object) -> None:
    rules_list = policy.get("rules") if isinstance(policy, dict) else None
    for rule in rules_list if isinstance(rules_list, list) else []:
        conditions = rule.get("onPodConditions") if isinstance(rule, dict) else None
        for pattern in conditions if isinstance(conditions, list) else []:
            if isinstance(pattern, dict) and not pattern.get("status"):
                pattern["status"] = "True"


def generate_selector(job: MutableObject) -> None:
    """The strategy's generateSelectorIfNeeded: unless manualSelector, label the template with the job's name
    and uid (both label forms) and select on the uid."""
    spec = rules.child(job, "spec")
    rules.set_default(spec, "manualSelector", False)
    if spec["manualSelector"] is True:
        return
    metadata = rules.mapping_of(job, "metadata")
    name, uid = str(metadata.get("name") or ""), str(metadata.get("uid") or "")
    labels = rules.child(rules.child(rules.child(spec, "template"), "metadata"), "labels")
    for key, value in ((LEGACY_JOB_NAME, name), (JOB_NAME, name), (LEGACY_CONTROLLER_UID, uid),
                       (CONTROLLER_UID, uid)):
        labels.setdefault(key, value)
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        selector = spec["selector"] = {}
    rules.child(selector, "matchLabels").setdefault(CONTROLLER_UID, uid)


def _has_label(template: object, key: str, expected: str) -> FieldErrors:
    """ValidateHasLabel on spec.template.metadata."""
    labels = rules.mapping_of(template, "metadata", "labels")
    path = FieldPath("spec", "template", "metadata", "labels").key(key)
    if key not in labels:
        return [FieldError.required(path, key)]
    if labels[key] != expected:
        raw = rules.mapping_of(template, "metadata").get("labels")
        return [go_invalid(path, go_string_map(raw), f"must be '{expected}'")]
    return []


def validate_generated_selector(job: MutableObject) -> FieldErrors:
    """validateGeneratedSelector (with the batch.kubernetes.io labels required, as for new Jobs)."""
    spec = rules.mapping_of(job, "spec")
    if spec.get("manualSelector") is True or spec.get("selector") is None:
        return []
    metadata = rules.mapping_of(job, "metadata")
    name, uid = str(metadata.get("name") or ""), str(metadata.get("uid") or "")
    errors: FieldErrors = [] if uid else [FieldError.required(FieldPath("metadata", "uid"))]
    template = spec.get("template")
    for key, value in ((LEGACY_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, name), (CONTROLLER_UID, uid),
                       (JOB_NAME, name)):
        errors += _has_label(template, key, value)
    expected = {CONTROLLER_UID: uid, JOB_NAME: name, LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name}
    selector = rules.selector_of(spec.get("selector"))
    if selector is not None and not selector.matches(expected):
        errors.append(go_invalid(FieldPath("spec", "selector"), go_label_selector(spec.get("selector")),
                                       "`selector` not auto-generated"))
    return errors


def validate_job_spec(spec: MutableObject, path: FieldPath) -> FieldErrors:
    """ValidateJobSpec: the job-template rules plus a required selector that matches the template."""
    errors = validate_job_template_spec(spec, path)
    selector = spec.get("selector")
    if selector is None:
        errors.append(FieldError.required(path.child("selector")))
    else:
        errors += validate_label_selector(selector, path.child("selector"))
    parsed = rules.selector_of(selector)
    template = spec.get("template")
    labels = rules.mapping_of(template, "metadata", "labels")
    if parsed is not None and not parsed.matches({str(key): str(value) for key, value in labels.items()}):
        errors.append(go_invalid(path.child("template", "metadata", "labels"),
                                       go_string_map(rules.mapping_of(template, "metadata").get("labels")),
                                       rules.SELECTOR_MISMATCH))
    return errors


def validate_job_template_spec(spec: MutableObject, path: FieldPath) -> FieldErrors:
    """validateJobSpec: counts, completion mode, replacement policy, the pod template and its restartPolicy."""
    errors: FieldErrors = []
    for field in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
                  "backoffLimitPerIndex", "maxFailedIndexes"):
        errors += rules.non_negative(spec.get(field), path.child(field))
    if spec.get("maxFailedIndexes") is not None and spec.get("backoffLimitPerIndex") is None:
        errors.append(FieldError.required(path.child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
    errors += policies.managed_by_errors(spec, path.child("managedBy"))
    errors += _completion_mode_errors(spec, path)
    errors += policies.pod_failure_policy_errors(spec, path.child("podFailurePolicy"))
    errors += policies.success_policy_errors(spec, path.child("successPolicy"))
    errors += _replacement_policy_errors(spec, path.child("podReplacementPolicy"))
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    errors += validate_pod_template(template, path.child("template"))
    return errors + _restart_policy_errors(spec, template, path.child("template", "spec", "restartPolicy"))


def _completion_mode_errors(spec: MutableObject, path: FieldPath) -> FieldErrors:
    mode = spec.get("completionMode")
    errors: FieldErrors = []
    if mode is not None and mode not in (NON_INDEXED, INDEXED):
        errors.append(FieldError.not_supported(path.child("completionMode"), mode, [NON_INDEXED, INDEXED]))
    if mode == INDEXED:
        if spec.get("completions") is None:
            errors.append(FieldError.required(path.child("completions"), "when completion mode is Indexed"))
        parallelism = rules.integer_of(spec.get("parallelism"))
        if parallelism is not None and parallelism > MAX_PARALLELISM_INDEXED:
            errors.append(FieldError.invalid(path.child("parallelism"), parallelism,
                                             "must be less than or equal to 100000 when completion mode is Indexed"))
        errors += policies.indexed_limit_errors(spec, path)
    if mode in (None, NON_INDEXED):
        for field in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(field) is not None:
                errors.append(FieldError.invalid(path.child(field), spec[field], "requires indexed completion mode"))
    return errors


def _replacement_policy_errors(spec: MutableObject, path: FieldPath) -> FieldErrors:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return []
    if spec.get("podFailurePolicy") is not None:
        return [] if policy == FAILED else [FieldError.not_supported(path, policy, [FAILED])]
    if policy in (FAILED, TERMINATING_OR_FAILED):
        return []
    return [FieldError.not_supported(path, policy, [FAILED, TERMINATING_OR_FAILED])]


def _restart_policy_errors(spec: MutableObject, template: MutableObject, path: FieldPath) -> FieldErrors:
    policy = rules.mapping_of(template, "spec").get("restartPolicy", "")
    if policy in ("", rules.RESTART_ALWAYS):
        return [FieldError.required(path, f'valid values: "{ON_FAILURE}", "{NEVER}"')]
    if policy not in (ON_FAILURE, NEVER):
        return [FieldError.not_supported(path, policy, [ON_FAILURE, NEVER])]
    if spec.get("podFailurePolicy") is not None and policy != NEVER:
        return [FieldError.invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified')]
    return []


def indexed_name_errors(job: MutableObject) -> FieldErrors:
    """An Indexed job's last pod hostname (`<name>-<completions-1>`) must be a DNS label."""
    spec = rules.mapping_of(job, "spec")
    completions = rules.integer_of(spec.get("completions"))
    if spec.get("completionMode") != INDEXED or completions is None or completions <= 0:
        return []
    name = str(rules.mapping_of(job, "metadata").get("name") or "")
    hostname = f"{name}-{completions - 1}"
    if not is_dns1123_label(hostname):
        return []
    return [FieldError.invalid(FieldPath("metadata", "name"), name,
                               f"will not able to create pod with invalid DNS label: {hostname}")]
