"""The field table of the Kubernetes protobuf wire format: `Package`, its declaration language, and apimachinery.

Kubernetes serialises built-in objects with proto2 messages whose field numbers are fixed by the public API
(go-to-protobuf assigns them once, in Go struct order, and never reuses them). This table records those facts
in a compact form of our own: one string of field declarations per message. The codec
(`apiserver.meta.protobuf`) compiles each string once, on first use. No upstream `.proto` file, descriptor set or
generated code is used or committed. The facts were read from what the kubectl v1.32 binary carries (its
registered message descriptors and Go struct tags), and the test suite checks every declaration against that
binary's descriptors, so a wrong number or type fails a test rather than a client.

A declaration is `jsonName=number:type[!][,inline]`, separated by whitespace:

- `jsonName` is the field's JSON name (the Go struct's JSON tag), the key in our dicts. It equals the protobuf
  field name except in a few messages (`aPIGroup` → `apiGroup`, `uID` → `uid`, `Webhooks` → `webhooks`).
- `type` is written like a Go type: `string`, `int32`, `int64`, `bool`, `bytes`, a message name, `[]T`
  (repeated), `map[string]V`, and `*T` for a Go pointer. A message name without a dot lives in the same package;
  otherwise it is qualified by package name (`meta.v1.ObjectMeta`, `resource.Quantity`).
- `*T` matters on decode: protobuf carries zero values of non-pointer fields (Go writes them all), and JSON's
  `omitempty` drops them, so a zero non-pointer field is left out of the dict while a pointer field is kept even
  when zero (`replicas: 0`, `securityContext: {}`).
- `!` marks a field that Go always writes to JSON (its tag has no `omitempty`): a string, number or boolean
  decodes to its zero value rather than being left out (`allowed: false`, `value: 0`), and a list's `items`
  to `[]`.
- `,inline` marks a Go embedded struct whose fields JSON flattens into the parent (`Volume.volumeSource`,
  `Probe.handler`, `ConfigMapKeySelector.localObjectReference`): the codec reads and writes its fields in the
  parent's dict.

Messages with a JSON form of their own (`meta.v1.Time`, `MicroTime`, `Duration`, `FieldsV1`, `Verbs`,
`runtime.RawExtension`, `intstr.IntOrString`, `resource.Quantity`, the `ExtraValue` string lists) are declared
here like any other; the codec converts them as a whole.

Packages: this module holds apimachinery (`meta.v1`, `runtime`, `intstr`, `resource`); the API groups live in
`protobuf_core` (core/v1), `protobuf_apps` (apps, batch, autoscaling v1/v2, policy), `protobuf_auth` (rbac,
authentication, authorization, certificates, admissionregistration, flowcontrol), `protobuf_networking`
(networking, discovery) and `protobuf_cluster` (coordination, events, storage, scheduling, node), all at v1
(autoscaling also v2), as served by kube-apiserver v1.32. Beta and alpha versions, apiextensions
(CustomResourceDefinition), apiregistration (APIService) and custom resources have no table: the codec reports
them as unsupported.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Package:
    """The messages of one protobuf package and the kinds it serves.

    `name` prefixes qualified message names (`apps.v1` → `apps.v1.Deployment`). `group_version` is the
    apiVersion its kinds carry on the wire (`apps/v1`; empty for packages without kinds). `kinds` lists, separated
    by whitespace, the messages that are top-level objects with TypeMeta; other messages are only embedded.
    """

    name: str
    group_version: str
    kinds: str
    messages: Mapping[str, str]


META_V1 = Package(
    name="meta.v1",
    group_version="meta.k8s.io/v1",
    kinds=(
        "APIGroup APIGroupList APIResourceList APIVersions ApplyOptions CreateOptions DeleteOptions GetOptions "
        "List ListOptions PartialObjectMetadata PartialObjectMetadataList PatchOptions Status TableOptions "
        "UpdateOptions WatchEvent"
    ),
    messages={
        "APIGroup": (
            "name=1:string! versions=2:[]GroupVersionForDiscovery preferredVersion=3:GroupVersionForDiscovery "
            "serverAddressByClientCIDRs=4:[]ServerAddressByClientCIDR"
        ),
        "APIGroupList": "groups=1:[]APIGroup",
        "APIResource": (
            "name=1:string! namespaced=2:bool! kind=3:string! verbs=4:*Verbs shortNames=5:[]string "
            "singularName=6:string! categories=7:[]string group=8:string version=9:string "
            "storageVersionHash=10:string"
        ),
        "APIResourceList": "groupVersion=1:string! resources=2:[]APIResource",
        "APIVersions": "versions=1:[]string serverAddressByClientCIDRs=2:[]ServerAddressByClientCIDR",
        "ApplyOptions": "dryRun=1:[]string force=2:bool! fieldManager=3:string!",
        "Condition": (
            "type=1:string! status=2:string! observedGeneration=3:int64 lastTransitionTime=4:Time reason=5:string! "
            "message=6:string!"
        ),
        "CreateOptions": "dryRun=1:[]string fieldManager=3:string fieldValidation=4:string",
        "DeleteOptions": (
            "gracePeriodSeconds=1:*int64 preconditions=2:*Preconditions orphanDependents=3:*bool "
            "propagationPolicy=4:*string dryRun=5:[]string ignoreStoreReadErrorWithClusterBreakingPotential=6:*bool"
        ),
        "Duration": "duration=1:int64!",
        "FieldSelectorRequirement": "key=1:string! operator=2:string! values=3:[]string",
        "FieldsV1": "Raw=1:bytes",
        "GetOptions": "resourceVersion=1:string",
        "GroupKind": "group=1:string! kind=2:string!",
        "GroupResource": "group=1:string! resource=2:string!",
        "GroupVersion": "group=1:string! version=2:string!",
        "GroupVersionForDiscovery": "groupVersion=1:string! version=2:string!",
        "GroupVersionKind": "group=1:string! version=2:string! kind=3:string!",
        "GroupVersionResource": "group=1:string! version=2:string! resource=3:string!",
        "LabelSelector": "matchLabels=1:map[string]string matchExpressions=2:[]LabelSelectorRequirement",
        "LabelSelectorRequirement": "key=1:string! operator=2:string! values=3:[]string",
        "List": "metadata=1:ListMeta items=2:[]runtime.RawExtension!",
        "ListMeta": "selfLink=1:string resourceVersion=2:string continue=3:string remainingItemCount=4:*int64",
        "ListOptions": (
            "labelSelector=1:string fieldSelector=2:string watch=3:bool resourceVersion=4:string "
            "timeoutSeconds=5:*int64 limit=7:int64 continue=8:string allowWatchBookmarks=9:bool "
            "resourceVersionMatch=10:string sendInitialEvents=11:*bool"
        ),
        "ManagedFieldsEntry": (
            "manager=1:string operation=2:string apiVersion=3:string time=4:*Time fieldsType=6:string "
            "fieldsV1=7:*FieldsV1 subresource=8:string"
        ),
        "MicroTime": "seconds=1:int64 nanos=2:int32",
        "ObjectMeta": (
            "name=1:string generateName=2:string namespace=3:string selfLink=4:string uid=5:string "
            "resourceVersion=6:string generation=7:int64 creationTimestamp=8:Time deletionTimestamp=9:*Time "
            "deletionGracePeriodSeconds=10:*int64 labels=11:map[string]string annotations=12:map[string]string "
            "ownerReferences=13:[]OwnerReference finalizers=14:[]string managedFields=17:[]ManagedFieldsEntry"
        ),
        "OwnerReference": (
            "kind=1:string! name=3:string! uid=4:string! apiVersion=5:string! controller=6:*bool "
            "blockOwnerDeletion=7:*bool"
        ),
        "PartialObjectMetadata": "metadata=1:ObjectMeta",
        "PartialObjectMetadataList": "metadata=1:ListMeta items=2:[]PartialObjectMetadata!",
        "Patch": "",
        "PatchOptions": "dryRun=1:[]string force=2:*bool fieldManager=3:string fieldValidation=4:string",
        "Preconditions": "uid=1:*string resourceVersion=2:*string",
        "RootPaths": "paths=1:[]string",
        "ServerAddressByClientCIDR": "clientCIDR=1:string! serverAddress=2:string!",
        "Status": (
            "metadata=1:ListMeta status=2:string message=3:string reason=4:string details=5:*StatusDetails "
            "code=6:int32"
        ),
        "StatusCause": "reason=1:string message=2:string field=3:string",
        "StatusDetails": (
            "name=1:string group=2:string kind=3:string causes=4:[]StatusCause retryAfterSeconds=5:int32 uid=6:string"
        ),
        "TableOptions": "includeObject=1:string",
        "Time": "seconds=1:int64 nanos=2:int32",
        "Timestamp": "seconds=1:int64! nanos=2:int32!",
        "TypeMeta": "kind=1:string apiVersion=2:string",
        "UpdateOptions": "dryRun=1:[]string fieldManager=2:string fieldValidation=3:string",
        "Verbs": "items=1:[]string",
        "WatchEvent": "type=1:string! object=2:runtime.RawExtension",
    },
)

RUNTIME = Package(
    name="runtime",
    group_version="",
    kinds="",
    messages={
        "RawExtension": "raw=1:bytes",
        "TypeMeta": "apiVersion=1:string kind=2:string",
        "Unknown": "typeMeta=1:TypeMeta raw=2:bytes contentEncoding=3:string! contentType=4:string!",
    },
)

INTSTR = Package(
    name="intstr",
    group_version="",
    kinds="",
    messages={
        "IntOrString": "type=1:int64! intVal=2:int32! strVal=3:string!",
    },
)

RESOURCE = Package(
    name="resource",
    group_version="",
    kinds="",
    messages={
        "Quantity": "string=1:*string",
        "QuantityValue": "string=1:*string",
    },
)

PACKAGES = (META_V1, RUNTIME, INTSTR, RESOURCE)
