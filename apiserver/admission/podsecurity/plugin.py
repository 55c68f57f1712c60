"""PodSecurity: the namespace's Pod Security levels enforced on pods, audited and warned about for pods and pod
templates (upstream's pod-security-admission/admission and plugin/pkg/admission/security/podsecurity).

- Namespaces: CREATE with invalid policy labels is Invalid (422, `namespaces "x" is invalid: metadata.labels[...]:
  Invalid value: ...`); an UPDATE that makes the enforce level stricter answers with warnings naming the existing
  pods that would violate it.
- Pods (CREATE, and UPDATEs that change an image or a seccomp annotation): the enforce level refuses with
  `pods "x" is forbidden: violates PodSecurity "restricted:latest": <reason> (<detail>), ...`; the audit level
  adds the audit annotation `pod-security.kubernetes.io/audit-violations`; the warn level adds a `Warning`
  (`would violate PodSecurity "...": ...`) unless the request is refused. The enforced policy is recorded as
  `pod-security.kubernetes.io/enforce-policy`.
- Pod controllers (ReplicationControllers, PodTemplates, ReplicaSets, Deployments, StatefulSets, DaemonSets,
  Jobs, CronJobs): their template gets audit annotations and warnings only, never a refusal.
Without configuration nothing is exempt and unlabelled modes are privileged:latest; a PodSecurityConfiguration
from `--admission-control-config-file` sets other defaults and exempts usernames, namespaces and runtime classes
(config.py): exempt requests are allowed with the audit annotation `pod-security.kubernetes.io/exempt`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiserver.admission.errors import forbidden, object_name
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.podsecurity.config import PodSecurityOptions, pod_security_options
from apiserver.admission.podsecurity.evaluator import evaluate_pod, forbidden_detail
from apiserver.admission.podsecurity.policy import LABEL_PREFIX, LevelVersion, Policy, compare_levels, policy_of
from apiserver.meta.errors import Forbidden, Invalid
from apiserver.meta.objects import JSONDict
from apiserver.meta.validation import FieldError, aggregate_messages

MAX_PODS_TO_CHECK = 3000
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
# (group, resource) → the path of the pod template in the object.
POD_CONTROLLERS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("", "replicationcontrollers"): ("spec", "template"),
    ("", "podtemplates"): ("template",),
    ("apps", "replicasets"): ("spec", "template"),
    ("apps", "deployments"): ("spec", "template"),
    ("apps", "statefulsets"): ("spec", "template"),
    ("apps", "daemonsets"): ("spec", "template"),
    ("batch", "jobs"): ("spec", "template"),
    ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template"),
}


class PodSecurity:
    name = "PodSecurity"

    configurable = True

    def __init__(self, context: PluginContext, configuration: JSONDict | None = None) -> None:
        self._context = context
        self._options: PodSecurityOptions = pod_security_options(configuration)

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if not isinstance(attributes.object, dict):
            return
        target = (attributes.group, attributes.resource)
        if target == ("", "namespaces"):
            await self._namespace(attributes)
        elif target == ("", "pods"):
            if attributes.subresource in ("", "ephemeralcontainers"):
                await self._pod(attributes)
        elif target in POD_CONTROLLERS and not attributes.subresource:
            await self._controller(attributes, POD_CONTROLLERS[target])

    async def _policy(self, attributes: AdmissionAttributes) -> tuple[Policy, list[FieldError]] | None:
        namespace = await self._context.namespaces.get(attributes.namespace)
        if namespace is None:
            namespace = await self._context.live_namespaces.get(attributes.namespace)
        if namespace is None:
            _annotate(attributes, "error", f'failed to lookup namespace "{attributes.namespace}": namespaces '
                                           f'"{attributes.namespace}" not found')
            return None
        return policy_of(_labels(namespace), self._options.defaults)

    def _exempt(self, attributes: AdmissionAttributes, spec: JSONDict | None) -> bool:
        """Exempt namespace, then user, then runtime class (the last only for what carries a pod spec)."""
        options = self._options
        for kind, exempt in (("namespace", attributes.namespace in options.exempt_namespaces),
                             ("user", str(getattr(attributes.user, "name", "")) in options.exempt_usernames),
                             ("runtimeClass", spec is not None
                              and str(spec.get("runtimeClassName") or "") in options.exempt_runtime_classes)):
            if exempt:
                _annotate(attributes, "exempt", kind)
                return True
        return False

    async def _pod(self, attributes: AdmissionAttributes) -> None:
        pod = attributes.object
        assert pod is not None
        if self._exempt(attributes, None):
            return
        if attributes.operation is Operation.UPDATE and attributes.subresource == "" and \
                not is_significant_pod_update(pod, attributes.old_object or {}):
            return
        found = await self._policy(attributes)
        if found is None:
            return
        policy, errors = found
        if not errors and policy.fully_privileged:
            _annotate(attributes, "enforce-policy", str(LevelVersion()))
            return
        if self._exempt(attributes, pod.get("spec") or {}):
            return
        _evaluate(attributes, policy, errors, pod.get("metadata") or {}, pod.get("spec") or {}, enforce=True)

    async def _controller(self, attributes: AdmissionAttributes, path: tuple[str, ...]) -> None:
        if self._exempt(attributes, None):
            return
        found = await self._policy(attributes)
        if found is None:
            return
        policy, errors = found
        if not errors and policy.warn.level == "privileged" and policy.audit.level == "privileged":
            return
        template: Any = attributes.object
        for key in path:
            template = template.get(key) if isinstance(template, dict) else None
        if not isinstance(template, dict) or self._exempt(attributes, template.get("spec") or {}):
            return
        _evaluate(attributes, policy, errors, template.get("metadata") or {}, template.get("spec") or {},
                  enforce=False)

    async def _namespace(self, attributes: AdmissionAttributes) -> None:
        if attributes.subresource:
            return
        namespace = attributes.object
        assert namespace is not None
        new_policy, new_errors = policy_of(_labels(namespace), self._options.defaults)
        if attributes.operation is Operation.CREATE:
            if new_errors:
                raise _invalid(attributes, new_errors)
            return
        old_policy, old_errors = policy_of(_labels(attributes.old_object or {}), self._options.defaults)
        if new_errors and (not old_errors or [str(e) for e in new_errors] != [str(e) for e in old_errors]):
            raise _invalid(attributes, new_errors)
        new, old = new_policy.enforce, old_policy.enforce
        if new == old or new.level == "privileged":
            return
        if new.minor == old.minor and compare_levels(new.level, old.level) < 1:
            return
        # Read from storage (upstream reads its pod informer): a pod created a moment ago is checked too.
        pods = await self._context.live_objects("", "v1", "pods").list(attributes.name)
        for warning in existing_pod_warnings(attributes.name, new, pods):
            attributes.add_warning(warning)


def _labels(obj: JSONDict) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(key): str(value) for key, value in labels.items()} if isinstance(labels, dict) else {}


def _annotate(attributes: AdmissionAttributes, key: str, value: str) -> None:
    attributes.annotate(LABEL_PREFIX + key, value)


def _evaluate(attributes: AdmissionAttributes, policy: Policy, errors: list[FieldError], metadata: JSONDict,
              spec: JSONDict, *, enforce: bool) -> None:
    """EvaluatePod: enforce (pods only), then audit, then warn (skipped when refusing); one evaluation per
    distinct level and version."""
    if errors:
        _annotate(attributes, "error", f"Failed to parse policy: {aggregate_messages(str(e) for e in errors)}")
    results: dict[LevelVersion, str] = {}

    def detail(level_version: LevelVersion) -> str:
        if level_version not in results:
            results[level_version] = forbidden_detail(evaluate_pod(level_version, metadata, spec))
        return results[level_version]

    refusal: Forbidden | None = None
    if enforce:
        _annotate(attributes, "enforce-policy", str(policy.enforce))
        if problems := detail(policy.enforce):
            refusal = _forbidden(attributes, f'violates PodSecurity "{policy.enforce}": {problems}')
    if problems := detail(policy.audit):
        _annotate(attributes, "audit-violations", f'would violate PodSecurity "{policy.audit}": {problems}')
    if refusal is not None:
        raise refusal
    if problems := detail(policy.warn):
        attributes.add_warning(f'would violate PodSecurity "{policy.warn}": {problems}')


def _forbidden(attributes: AdmissionAttributes, reason: str) -> Forbidden:
    """forbiddenResponse's message names the request's own name (`pods "" is forbidden` for generateName),
    inside admission.NewForbidden's details."""
    details = forbidden(attributes, reason).details
    return Forbidden.from_message(f'{attributes.resource} "{attributes.name}" is forbidden: {reason}',
                                  details=details)


def _invalid(attributes: AdmissionAttributes, errors: list[FieldError]) -> Invalid:
    details = forbidden(attributes, "").details
    name = attributes.name or object_name(attributes)
    message = f'{attributes.resource} "{name}" is invalid: {aggregate_messages(str(e) for e in errors)}'
    return Invalid.from_message(message, details=details)


def is_significant_pod_update(pod: JSONDict, old: JSONDict) -> bool:
    """Only image changes and seccomp annotation changes can change a running pod's evaluation."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    old_annotations = (old.get("metadata") or {}).get("annotations") or {}
    if annotations.get(SECCOMP_POD_ANNOTATION) != old_annotations.get(SECCOMP_POD_ANNOTATION):
        return True
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
    for field in ("containers", "initContainers"):
        new_list, old_list = spec.get(field) or [], old_spec.get(field) or []
        if len(new_list) != len(old_list):
            return True
        if any(_container_changed(a, b, annotations, old_annotations) for a, b in zip(new_list, old_list,
                                                                                        strict=True)):
            return True
    old_ephemeral = {container.get("name"): container for container in old_spec.get("ephemeralContainers") or ()}
    for container in spec.get("ephemeralContainers") or ():
        previous = old_ephemeral.get(container.get("name"))
        if previous is None or _container_changed(container, previous, annotations, old_annotations):
            return True
    return False


def _container_changed(new: JSONDict, old: JSONDict, annotations: JSONDict, old_annotations: JSONDict) -> bool:
    if new.get("image") != old.get("image"):
        return True
    key = SECCOMP_CONTAINER_PREFIX + str(new.get("name") or "")
    return annotations.get(key) != old_annotations.get(key)


def existing_pod_warnings(namespace: str, enforce: LevelVersion, pods: list[JSONDict] | Any) -> list[str]:
    """EvaluatePodsInNamespace: one warning per distinct violation, naming the first pod (by name) and how many
    others share it, after a headline; capped at the first 3000 pods."""
    items = list(pods)
    checked = items[:MAX_PODS_TO_CHECK]
    counts: dict[str, tuple[str, int]] = {}
    for pod in checked:
        problem = forbidden_detail(evaluate_pod(enforce, pod.get("metadata") or {}, pod.get("spec") or {}))
        if not problem:
            continue
        name = str((pod.get("metadata") or {}).get("name") or "")
        first, count = counts.get(problem, (name, 0))
        counts[problem] = (min(first, name), count + 1)
    warnings = []
    if len(checked) < len(items):
        warnings.append(f"new PodSecurity enforce level only checked against the first {len(checked)} of "
                        f"{len(items)} existing pods")
    if counts:
        warnings.append(f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level '
                        f'"{enforce}"')
    decorated = []
    for problem, (name, count) in counts.items():
        if count == 1:
            decorated.append(f"{name}: {problem}")
        elif count == 2:
            decorated.append(f"{name} (and 1 other pod): {problem}")
        else:
            decorated.append(f"{name} (and {count - 1} other pods): {problem}")
    return warnings + sorted(decorated)
