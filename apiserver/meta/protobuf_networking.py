"""Protobuf field tables of networking.k8s.io/v1 and discovery.k8s.io/v1.

Kinds: Ingress, IngressClass, NetworkPolicy, EndpointSlice, with their Lists. The declaration language is
described in `apiserver.meta.protobuf_messages`.
"""
from __future__ import annotations

from apiserver.meta.protobuf_messages import Package

NETWORKING_V1 = Package(
    name="networking.v1",
    group_version="networking.k8s.io/v1",
    kinds="Ingress IngressClass IngressClassList IngressList NetworkPolicy NetworkPolicyList",
    messages={
        "HTTPIngressPath": "path=1:string backend=2:IngressBackend pathType=3:*string",
        "HTTPIngressRuleValue": "paths=1:[]HTTPIngressPath",
        "IPBlock": "cidr=1:string! except=2:[]string",
        "Ingress": "metadata=1:meta.v1.ObjectMeta spec=2:IngressSpec status=3:IngressStatus",
        "IngressBackend": "resource=3:*core.v1.TypedLocalObjectReference service=4:*IngressServiceBackend",
        "IngressClass": "metadata=1:meta.v1.ObjectMeta spec=2:IngressClassSpec",
        "IngressClassList": "metadata=1:meta.v1.ListMeta items=2:[]IngressClass!",
        "IngressClassParametersReference": (
            "apiGroup=1:*string kind=2:string! name=3:string! scope=4:*string namespace=5:*string"
        ),
        "IngressClassSpec": "controller=1:string parameters=2:*IngressClassParametersReference",
        "IngressList": "metadata=1:meta.v1.ListMeta items=2:[]Ingress!",
        "IngressLoadBalancerIngress": "ip=1:string hostname=2:string ports=4:[]IngressPortStatus",
        "IngressLoadBalancerStatus": "ingress=1:[]IngressLoadBalancerIngress",
        "IngressPortStatus": "port=1:int32! protocol=2:string! error=3:*string",
        "IngressRule": "host=1:string ingressRuleValue=2:IngressRuleValue,inline",
        "IngressRuleValue": "http=1:*HTTPIngressRuleValue",
        "IngressServiceBackend": "name=1:string! port=2:ServiceBackendPort",
        "IngressSpec": (
            "defaultBackend=1:*IngressBackend tls=2:[]IngressTLS rules=3:[]IngressRule ingressClassName=4:*string"
        ),
        "IngressStatus": "loadBalancer=1:IngressLoadBalancerStatus",
        "IngressTLS": "hosts=1:[]string secretName=2:string",
        "NetworkPolicy": "metadata=1:meta.v1.ObjectMeta spec=2:NetworkPolicySpec",
        "NetworkPolicyEgressRule": "ports=1:[]NetworkPolicyPort to=2:[]NetworkPolicyPeer",
        "NetworkPolicyIngressRule": "ports=1:[]NetworkPolicyPort from=2:[]NetworkPolicyPeer",
        "NetworkPolicyList": "metadata=1:meta.v1.ListMeta items=2:[]NetworkPolicy!",
        "NetworkPolicyPeer": (
            "podSelector=1:*meta.v1.LabelSelector namespaceSelector=2:*meta.v1.LabelSelector ipBlock=3:*IPBlock"
        ),
        "NetworkPolicyPort": "protocol=1:*string port=2:*intstr.IntOrString endPort=3:*int32",
        "NetworkPolicySpec": (
            "podSelector=1:meta.v1.LabelSelector ingress=2:[]NetworkPolicyIngressRule "
            "egress=3:[]NetworkPolicyEgressRule policyTypes=4:[]string"
        ),
        "ServiceBackendPort": "name=1:string number=2:int32",
    },
)

DISCOVERY_V1 = Package(
    name="discovery.v1",
    group_version="discovery.k8s.io/v1",
    kinds="EndpointSlice EndpointSliceList",
    messages={
        "Endpoint": (
            "addresses=1:[]string conditions=2:EndpointConditions hostname=3:*string "
            "targetRef=4:*core.v1.ObjectReference deprecatedTopology=5:map[string]string nodeName=6:*string "
            "zone=7:*string hints=8:*EndpointHints"
        ),
        "EndpointConditions": "ready=1:*bool serving=2:*bool terminating=3:*bool",
        "EndpointHints": "forZones=1:[]ForZone",
        "EndpointPort": "name=1:*string protocol=2:*string port=3:*int32 appProtocol=4:*string",
        "EndpointSlice": (
            "metadata=1:meta.v1.ObjectMeta endpoints=2:[]Endpoint ports=3:[]EndpointPort addressType=4:string!"
        ),
        "EndpointSliceList": "metadata=1:meta.v1.ListMeta items=2:[]EndpointSlice!",
        "ForZone": "name=1:string!",
    },
)

PACKAGES = (NETWORKING_V1, DISCOVERY_V1)
