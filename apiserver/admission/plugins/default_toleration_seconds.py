"""DefaultTolerationSeconds: pods tolerate a not-ready or unreachable node for 300 s unless they say otherwise.

Upstream's plugin/pkg/admission/defaulttolerationseconds: on pod CREATE and UPDATE, a pod without a toleration
covering `node.kubernetes.io/not-ready` (or `unreachable`) with effect NoExecute (an empty key or effect covers
it) gets `{key, operator: Exists, effect: NoExecute, tolerationSeconds: 300}` appended.
"""
from __future__ import annotations

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext

DEFAULT_SECONDS = 300
TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


class DefaultTolerationSeconds:
    name = "DefaultTolerationSeconds"

    def __init__(self, context: PluginContext, *, seconds: int = DEFAULT_SECONDS) -> None:
        self._seconds = seconds

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        pod = attributes.object
        if attributes.group or attributes.resource != "pods" or attributes.subresource or not isinstance(pod, dict):
            return
        spec = pod.setdefault("spec", {})
        tolerations = [item for item in spec.get("tolerations") or () if isinstance(item, dict)]
        added = [{"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": self._seconds}
                 for taint in TAINTS if not any(_tolerates(item, taint) for item in tolerations)]
        if added:
            spec["tolerations"] = [*(spec.get("tolerations") or ()), *added]


def _tolerates(toleration: dict[str, object], taint: str) -> bool:
    return toleration.get("key") in (taint, "", None) and toleration.get("effect") in ("NoExecute", "", None)
