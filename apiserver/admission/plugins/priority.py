"""Priority: a pod's priority comes from its PriorityClass; only one PriorityClass may be the global default.

Upstream's plugin/pkg/admission/priority:
- pod CREATE: `spec.priorityClassName` names a PriorityClass (else Forbidden `no PriorityClass with name x was
  found`), or, when empty, the global default class is used (the lowest value if several claim it; none:
  priority 0 with PreemptLowerPriority). The pod gets the class's value and preemptionPolicy; a pod that states
  a different priority or preemptionPolicy itself is Forbidden.
- pod UPDATE: a priority or preemptionPolicy left out keeps the stored pod's value.
- PriorityClass CREATE/UPDATE with `globalDefault: true` while another class is the default is Forbidden.
"""
from __future__ import annotations

from collections.abc import Sequence

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.meta.objects import JSONDict

SCHEDULING = "scheduling.k8s.io"
DEFAULT_PRIORITY = 0
DEFAULT_PREEMPTION_POLICY = "PreemptLowerPriority"


class Priority:
    name = "Priority"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        pod = attributes.object
        if attributes.group or attributes.resource != "pods" or attributes.subresource or not isinstance(pod, dict):
            return
        spec = pod.setdefault("spec", {})
        if attributes.operation is Operation.UPDATE:
            old_spec = (attributes.old_object or {}).get("spec") or {}
            for field in ("priority", "preemptionPolicy"):
                if spec.get(field) is None and old_spec.get(field) is not None:
                    spec[field] = old_spec[field]
            return
        class_name = str(spec.get("priorityClassName") or "")
        if class_name:
            found = await self._context.objects(SCHEDULING, "v1", "priorityclasses").get("", class_name)
            if found is None:
                raise forbidden(attributes, f"no PriorityClass with name {class_name} was found")
            priority, policy = _value(found), found.get("preemptionPolicy")
        else:
            default = default_class(await self._context.objects(SCHEDULING, "v1", "priorityclasses").list(""))
            if default is not None:
                spec["priorityClassName"] = (default.get("metadata") or {}).get("name")
                priority, policy = _value(default), default.get("preemptionPolicy")
            else:
                priority, policy = DEFAULT_PRIORITY, DEFAULT_PREEMPTION_POLICY
        given = spec.get("priority")
        if given is not None and given != priority:
            raise forbidden(attributes, f"the integer value of priority ({given}) must not be provided in pod spec; "
                                        f"priority admission controller computed {priority} from the given "
                                        "PriorityClass name")
        spec["priority"] = priority
        if policy is not None:
            stated = spec.get("preemptionPolicy")
            if stated is not None and stated != policy:
                raise forbidden(attributes, f"the string value of PreemptionPolicy ({stated}) must not be provided "
                                            f"in pod spec; priority admission controller computed {policy} from the "
                                            "given PriorityClass name")
            spec["preemptionPolicy"] = policy

    async def validate(self, attributes: AdmissionAttributes) -> None:
        obj = attributes.object
        if attributes.group != SCHEDULING or attributes.resource != "priorityclasses" or attributes.subresource:
            return
        if not isinstance(obj, dict) or obj.get("globalDefault") is not True:
            return
        default = default_class(await self._context.objects(SCHEDULING, "v1", "priorityclasses").list(""))
        if default is None:
            return
        default_name = (default.get("metadata") or {}).get("name")
        if attributes.operation is Operation.CREATE or default_name != attributes.name:
            raise forbidden(attributes, f"PriorityClass {default_name} is already marked as default. "
                                        "Only one default can exist")


def _value(priority_class: JSONDict) -> int:
    value = priority_class.get("value")
    return value if isinstance(value, int) else 0


def default_class(classes: Sequence[JSONDict]) -> JSONDict | None:
    """The global default class; the lowest value when a race left several."""
    marked = [item for item in classes if item.get("globalDefault") is True]
    return min(marked, key=_value) if marked else None
