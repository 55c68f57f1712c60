"""Protobuf field tables of the cluster-infrastructure groups, all at v1.

coordination (Lease), events.k8s.io (Event), storage (StorageClass, CSIDriver, CSINode, CSIStorageCapacity,
VolumeAttachment), scheduling (PriorityClass) and node (RuntimeClass), with their Lists. The declaration language
is described in `apiserver.meta.protobuf_messages`.
"""
from __future__ import annotations

from apiserver.meta.protobuf_messages import Package

SCHEDULING_V1 = Package(
    name="scheduling.v1",
    group_version="scheduling.k8s.io/v1",
    kinds="PriorityClass PriorityClassList",
    messages={
        "PriorityClass": (
            "metadata=1:meta.v1.ObjectMeta value=2:int32! globalDefault=3:bool description=4:string "
            "preemptionPolicy=5:*string"
        ),
        "PriorityClassList": "metadata=1:meta.v1.ListMeta items=2:[]PriorityClass!",
    },
)

NODE_V1 = Package(
    name="node.v1",
    group_version="node.k8s.io/v1",
    kinds="RuntimeClass RuntimeClassList",
    messages={
        "Overhead": "podFixed=1:map[string]resource.Quantity",
        "RuntimeClass": "metadata=1:meta.v1.ObjectMeta handler=2:string! overhead=3:*Overhead scheduling=4:*Scheduling",
        "RuntimeClassList": "metadata=1:meta.v1.ListMeta items=2:[]RuntimeClass!",
        "Scheduling": "nodeSelector=1:map[string]string tolerations=2:[]core.v1.Toleration",
    },
)

COORDINATION_V1 = Package(
    name="coordination.v1",
    group_version="coordination.k8s.io/v1",
    kinds="Lease LeaseList",
    messages={
        "Lease": "metadata=1:meta.v1.ObjectMeta spec=2:LeaseSpec",
        "LeaseList": "metadata=1:meta.v1.ListMeta items=2:[]Lease!",
        "LeaseSpec": (
            "holderIdentity=1:*string leaseDurationSeconds=2:*int32 acquireTime=3:*meta.v1.MicroTime "
            "renewTime=4:*meta.v1.MicroTime leaseTransitions=5:*int32 strategy=6:*string preferredHolder=7:*string"
        ),
    },
)

EVENTS_V1 = Package(
    name="events.v1",
    group_version="events.k8s.io/v1",
    kinds="Event EventList",
    messages={
        "Event": (
            "metadata=1:meta.v1.ObjectMeta eventTime=2:meta.v1.MicroTime series=3:*EventSeries "
            "reportingController=4:string reportingInstance=5:string action=6:string reason=7:string "
            "regarding=8:core.v1.ObjectReference related=9:*core.v1.ObjectReference note=10:string type=11:string "
            "deprecatedSource=12:core.v1.EventSource deprecatedFirstTimestamp=13:meta.v1.Time "
            "deprecatedLastTimestamp=14:meta.v1.Time deprecatedCount=15:int32"
        ),
        "EventList": "metadata=1:meta.v1.ListMeta items=2:[]Event!",
        "EventSeries": "count=1:int32! lastObservedTime=2:meta.v1.MicroTime",
    },
)

STORAGE_V1 = Package(
    name="storage.v1",
    group_version="storage.k8s.io/v1",
    kinds=(
        "CSIDriver CSIDriverList CSINode CSINodeList CSIStorageCapacity CSIStorageCapacityList StorageClass "
        "StorageClassList VolumeAttachment VolumeAttachmentList"
    ),
    messages={
        "CSIDriver": "metadata=1:meta.v1.ObjectMeta spec=2:CSIDriverSpec",
        "CSIDriverList": "metadata=1:meta.v1.ListMeta items=2:[]CSIDriver!",
        "CSIDriverSpec": (
            "attachRequired=1:*bool podInfoOnMount=2:*bool volumeLifecycleModes=3:[]string storageCapacity=4:*bool "
            "fsGroupPolicy=5:*string tokenRequests=6:[]TokenRequest requiresRepublish=7:*bool seLinuxMount=8:*bool"
        ),
        "CSINode": "metadata=1:meta.v1.ObjectMeta spec=2:CSINodeSpec",
        "CSINodeDriver": "name=1:string! nodeID=2:string! topologyKeys=3:[]string allocatable=4:*VolumeNodeResources",
        "CSINodeList": "metadata=1:meta.v1.ListMeta items=2:[]CSINode!",
        "CSINodeSpec": "drivers=1:[]CSINodeDriver",
        "CSIStorageCapacity": (
            "metadata=1:meta.v1.ObjectMeta nodeTopology=2:*meta.v1.LabelSelector storageClassName=3:string! "
            "capacity=4:*resource.Quantity maximumVolumeSize=5:*resource.Quantity"
        ),
        "CSIStorageCapacityList": "metadata=1:meta.v1.ListMeta items=2:[]CSIStorageCapacity!",
        "StorageClass": (
            "metadata=1:meta.v1.ObjectMeta provisioner=2:string! parameters=3:map[string]string "
            "reclaimPolicy=4:*string mountOptions=5:[]string allowVolumeExpansion=6:*bool volumeBindingMode=7:*string "
            "allowedTopologies=8:[]core.v1.TopologySelectorTerm"
        ),
        "StorageClassList": "metadata=1:meta.v1.ListMeta items=2:[]StorageClass!",
        "TokenRequest": "audience=1:string! expirationSeconds=2:*int64",
        "VolumeAttachment": "metadata=1:meta.v1.ObjectMeta spec=2:VolumeAttachmentSpec status=3:VolumeAttachmentStatus",
        "VolumeAttachmentList": "metadata=1:meta.v1.ListMeta items=2:[]VolumeAttachment!",
        "VolumeAttachmentSource": "persistentVolumeName=1:*string inlineVolumeSpec=2:*core.v1.PersistentVolumeSpec",
        "VolumeAttachmentSpec": "attacher=1:string! source=2:VolumeAttachmentSource nodeName=3:string!",
        "VolumeAttachmentStatus": (
            "attached=1:bool! attachmentMetadata=2:map[string]string attachError=3:*VolumeError "
            "detachError=4:*VolumeError"
        ),
        "VolumeError": "time=1:meta.v1.Time message=2:string",
        "VolumeNodeResources": "count=1:*int32",
    },
)

PACKAGES = (COORDINATION_V1, EVENTS_V1, STORAGE_V1, SCHEDULING_V1, NODE_V1)
