"""NodeRestriction for the objects a kubelet keeps besides its Node and pods (upstream v1.32 wording).

- coordination.k8s.io leases: only in `kube-node-lease`, only the Lease named after the node;
- storage.k8s.io csinodes: only the CSINode named after the node;
- serviceaccounts/token: a node may request only tokens bound to a pod (`boundObjectRef` v1 Pod with a name and
  uid) that exists with that uid and is scheduled on the node.
On create the name comes from the object (the request has none yet), otherwise from the request.
"""
from __future__ import annotations

from typing import Final

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, ObjectLister, Operation
from apiserver.meta.errors import NotFound

NODE_LEASE_NAMESPACE: Final = "kube-node-lease"


def _target_name(attributes: AdmissionAttributes) -> str:
    if attributes.operation is Operation.CREATE:
        return str(((attributes.object or {}).get("metadata") or {}).get("name") or "")
    return attributes.name


def admit_lease(node: str, attributes: AdmissionAttributes) -> None:
    if attributes.namespace != NODE_LEASE_NAMESPACE:
        raise forbidden(attributes, f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
    if _target_name(attributes) != node:
        raise forbidden(attributes, "can only access node lease with the same name as the requesting node")


def admit_csi_node(node: str, attributes: AdmissionAttributes) -> None:
    if _target_name(attributes) != node:
        raise forbidden(attributes, "can only access CSINode with the same name as the requesting node")


async def admit_token_request(node: str, attributes: AdmissionAttributes, pods: ObjectLister) -> None:
    """admitServiceAccount: the token must be bound to a pod running on this node."""
    if attributes.operation is not Operation.CREATE:
        return
    reference = ((attributes.object or {}).get("spec") or {}).get("boundObjectRef")
    if not isinstance(reference, dict) or reference.get("apiVersion") != "v1" or reference.get("kind") != "Pod" \
            or not reference.get("name"):
        raise forbidden(attributes, "node requested token not bound to a pod")
    uid = str(reference.get("uid") or "")
    if not uid:
        raise forbidden(attributes, "node requested token with a pod binding without a uid")
    name = str(reference["name"])
    pod = await pods.get(attributes.namespace, name)
    if pod is None:
        raise NotFound("pods", name)
    if uid != str((pod.get("metadata") or {}).get("uid") or ""):
        raise forbidden(attributes, f"the UID in the bound object reference ({uid}) does not match the UID in "
                                    "record. The object might have been deleted and then recreated")
    if str((pod.get("spec") or {}).get("nodeName") or "") != node:
        raise forbidden(attributes, "node requested token bound to a pod scheduled on a different node")
