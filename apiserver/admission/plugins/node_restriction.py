"""NodeRestriction (off by default): a kubelet may write only its own Node and the pods bound to it.

A bounded version of upstream's plugin/pkg/admission/noderestriction for users named `system:node:<name>` in
the group `system:nodes`:
- nodes: only its own Node (`node "a" is not allowed to modify node "b"`); it may not register with a
  configSource or with labels in the kubernetes.io / k8s.io domains other than upstream's allowed ones, nor
  change those labels or its taints later (status updates excepted);
- pods: create only mirror pods bound to itself, owned by its Node, referencing no ServiceAccount, Secret,
  ConfigMap, ClusterTrustBundle or PersistentVolumeClaim; update only the status of pods bound to itself;
  delete and evict only pods bound to itself;
- leases: only its own Lease in kube-node-lease; csinodes: only its own CSINode;
- serviceaccounts/token: only tokens bound (with a uid) to a pod scheduled on itself (node_objects.py).
PersistentVolumeClaim status and ResourceSlices are not restricted here.
"""
from __future__ import annotations

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.plugins.node_objects import admit_csi_node, admit_lease, admit_token_request
from apiserver.admission.plugins.service_account import MIRROR_POD_ANNOTATION, secret_references
from apiserver.meta.errors import NotFound, go_quote
from apiserver.meta.objects import JSONDict

NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
# Labels a kubelet may set on itself within the restricted domains (kubelet's well-known node labels).
ALLOWED_NODE_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region", "topology.kubernetes.io/zone", "kubernetes.io/role",
    "node.kubernetes.io/windows-build",
})
ALLOWED_LABEL_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")


def node_name_of(user: object) -> str | None:
    """The node a user is (None when it is not a node); "" for a member of system:nodes with another name."""
    groups = tuple(getattr(user, "groups", ()) or ())
    if NODES_GROUP not in groups:
        return None
    name = str(getattr(user, "name", "") or "")
    return name.removeprefix(NODE_PREFIX) if name.startswith(NODE_PREFIX) else ""


class NodeRestriction:
    name = "NodeRestriction"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE, Operation.DELETE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        node = node_name_of(attributes.user)
        if node is None:
            return
        if not node:
            raise forbidden(attributes, f"could not determine node from user {_quote(attributes.user)}")
        resource = (attributes.group, attributes.resource)
        if resource == ("", "nodes"):
            self._node(node, attributes)
        elif resource == ("", "pods"):
            await self._pod(node, attributes)
        elif resource == ("", "serviceaccounts") and attributes.subresource == "token":
            await admit_token_request(node, attributes, self._context.objects("", "v1", "pods"))
        elif resource == ("coordination.k8s.io", "leases"):
            admit_lease(node, attributes)
        elif resource == ("storage.k8s.io", "csinodes"):
            admit_csi_node(node, attributes)

    def _node(self, node: str, attributes: AdmissionAttributes) -> None:
        if attributes.name and attributes.name != node:
            raise forbidden(attributes, f'node "{node}" is not allowed to modify node "{attributes.name}"')
        obj = attributes.object or {}
        if attributes.operation is Operation.CREATE:
            if (obj.get("spec") or {}).get("configSource") is not None:
                raise forbidden(attributes, f'node "{node}" is not allowed to create pods with a non-nil '
                                            "configSource")
            if bad := _forbidden_labels(_labels(obj), {}):
                raise forbidden(attributes, f'node "{node}" is not allowed to set the following labels: '
                                            f"{', '.join(bad)}")
        elif attributes.operation is Operation.UPDATE and not attributes.subresource:
            old = attributes.old_object or {}
            if (obj.get("spec") or {}).get("taints") != (old.get("spec") or {}).get("taints"):
                raise forbidden(attributes, f'node "{node}" is not allowed to modify taints')
            if bad := _forbidden_labels(_labels(obj), _labels(old)):
                raise forbidden(attributes, f'node "{node}" is not allowed to modify labels: {", ".join(bad)}')

    async def _pod(self, node: str, attributes: AdmissionAttributes) -> None:
        if attributes.operation is Operation.CREATE and not attributes.subresource:
            return self._pod_create(node, attributes)
        if attributes.operation is Operation.UPDATE and attributes.subresource == "status":
            if _node_of(attributes.old_object) != node:
                raise forbidden(attributes, f'node "{node}" can only update pod status for pods with spec.nodeName '
                                            "set to itself")
            return None
        if attributes.operation is Operation.DELETE and not attributes.subresource:
            if _node_of(attributes.old_object) != node:
                raise forbidden(attributes, f'node "{node}" can only delete pods with spec.nodeName set to itself')
            return None
        if attributes.subresource == "eviction":
            return await self._pod_eviction(node, attributes)
        if attributes.subresource and attributes.subresource != "status":
            raise forbidden(attributes, f"unexpected pod subresource {go_quote(attributes.subresource)}, only "
                                        "'status' and 'eviction' are allowed")
        raise forbidden(attributes, f'unexpected operation "{attributes.operation}", node "{node}" can only create '
                                    "and delete mirror pods")

    async def _pod_eviction(self, node: str, attributes: AdmissionAttributes) -> None:
        """admitPodEviction: a node may evict only pods bound to it (the pod named by the URL, else the body)."""
        if attributes.operation is not Operation.CREATE:
            raise forbidden(attributes, f"unexpected operation {attributes.operation}")
        name = attributes.name or str(((attributes.object or {}).get("metadata") or {}).get("name") or "")
        if not name:
            raise forbidden(attributes, "could not determine pod from request data")
        pod = await self._context.objects("", "v1", "pods").get(attributes.namespace, name)
        if pod is None:
            raise NotFound("pods", name)
        if _node_of(pod) != node:
            raise forbidden(attributes, f"node {node} can only evict pods with spec.nodeName set to itself")

    def _pod_create(self, node: str, attributes: AdmissionAttributes) -> None:
        pod = attributes.object or {}
        metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if MIRROR_POD_ANNOTATION not in (metadata.get("annotations") or {}):
            raise forbidden(attributes, f'pod does not have "{MIRROR_POD_ANNOTATION}" annotation, node "{node}" can '
                                        "only create mirror pods")
        if spec.get("nodeName") != node:
            raise forbidden(attributes, f'node "{node}" can only create pods with spec.nodeName set to itself')
        owners = metadata.get("ownerReferences") or []
        if len(owners) > 1:
            raise forbidden(attributes, f'node "{node}" can only create pods with a single owner reference set to '
                                        "itself")
        owner = owners[0] if owners else {}
        if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
            raise forbidden(attributes, f'node "{node}" can only create pods with an owner reference set to itself')
        if owner.get("controller") is not True:
            raise forbidden(attributes, f'node "{node}" can only create pods with a controller owner reference set '
                                        "to itself")
        if owner.get("blockOwnerDeletion") is True:
            raise forbidden(attributes, f'node "{node}" must not set blockOwnerDeletion on an owner reference')
        for problem, present in (("reference a service account", bool(spec.get("serviceAccountName"))),
                                 ("reference secrets", any(True for _ in secret_references(spec))),
                                 ("reference configmaps", _references_config_maps(spec)),
                                 ("use clustertrustbundles", _uses(spec, "clusterTrustBundle")),
                                 ("reference persistentvolumeclaims", _claims(spec))):
            if present:
                raise forbidden(attributes, f'node "{node}" can not create pods that {problem}')


def _quote(user: object) -> str:
    return f'"{getattr(user, "name", "")}"'


def _labels(obj: JSONDict) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _is_restricted_label(key: str) -> bool:
    domain = key.split("/", 1)[0] if "/" in key else ""
    restricted = domain in ("kubernetes.io", "k8s.io") or domain.endswith((".kubernetes.io", ".k8s.io"))
    allowed = key in ALLOWED_NODE_LABELS or key.startswith(ALLOWED_LABEL_PREFIXES)
    return restricted and not allowed


def _forbidden_labels(new: dict[str, str], old: dict[str, str]) -> list[str]:
    changed = {key for key in set(new) | set(old) if new.get(key) != old.get(key)}
    return sorted(key for key in changed if _is_restricted_label(key))


def _node_of(pod: JSONDict | None) -> str:
    return str(((pod or {}).get("spec") or {}).get("nodeName") or "")


def _uses(spec: JSONDict, source: str) -> bool:
    return any(isinstance(item, dict) and source in item
               for volume in spec.get("volumes") or () if isinstance(volume, dict)
               for item in (volume.get("projected") or {}).get("sources") or ())


def _claims(spec: JSONDict) -> bool:
    return any(isinstance(volume, dict) and volume.get("persistentVolumeClaim") is not None
               for volume in spec.get("volumes") or ())


def _references_config_maps(spec: JSONDict) -> bool:
    if _uses(spec, "configMap"):
        return True
    if any(isinstance(volume, dict) and "configMap" in volume for volume in spec.get("volumes") or ()):
        return True
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            if any((source or {}).get("configMapRef") for source in container.get("envFrom") or ()):
                return True
            if any(((env or {}).get("valueFrom") or {}).get("configMapKeyRef") for env in container.get("env") or ()):
                return True
    return False
