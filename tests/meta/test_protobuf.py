"""The Kubernetes protobuf codec, checked against what kubectl v1.32 itself carries, sends and reads.

Three independent witnesses keep the codec honest:
- the message descriptors compiled into the kubectl v1.32 binary (field numbers, types, Go pointer-ness),
  compared declaration by declaration with our field table;
- the `protobuf` package's own parser (upb) driven by those same descriptors, which must read our bytes without
  unknown fields and whose re-encoding must decode back to the same dict;
- the real kubectl, whose request bodies we decode and which decodes our protobuf answers and prints them as JSON.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, unknown_fields
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from apiserver.meta import protobuf
from apiserver.meta.errors import NotFound
from apiserver.meta.protobuf_schema import (
    BOOL,
    BYTES,
    INT32,
    INT64,
    MESSAGE,
    PACKAGES,
    SPECIAL,
    SPECIAL_MESSAGES,
    STRING,
    kind_message_name,
    message,
    message_names,
)
from apiserver.meta.protobuf_types import DECODERS, ENCODERS, format_duration, parse_duration
from tests.http.asgi_harness import serve_over_http

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

# ---------------------------------------------------------------------------------------------- realistic objects

META = {
    "name": "web", "namespace": "prod", "uid": "0b3c5d6e-1111-2222-3333-444455556666", "resourceVersion": "12345",
    "generation": 3, "creationTimestamp": "2024-05-01T12:00:00Z",
    "labels": {"app": "web", "tier": "frontend"},
    "annotations": {"deployment.kubernetes.io/revision": "3", "note": ""},
    "ownerReferences": [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c",
        "uid": "9a8b7c6d-0000-1111-2222-333344445555", "controller": True, "blockOwnerDeletion": False,
    }],
    "finalizers": ["example.com/cleanup"],
    "managedFields": [{
        "manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "time": "2024-05-01T12:00:00Z",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
        "subresource": "status",
    }],
}

POD_SPEC: dict[str, Any] = {
    "volumes": [
        {"name": "config", "configMap": {"name": "web-config", "items": [{"key": "a", "path": "a.conf", "mode": 256}],
                                         "defaultMode": 420, "optional": False}},
        {"name": "certs", "secret": {"secretName": "web-tls", "defaultMode": 256}},
        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "web-data", "readOnly": True}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
            {"path": "cpu", "resourceFieldRef": {"containerName": "web", "resource": "limits.cpu", "divisor": "1m"}},
        ]}},
        {"name": "token", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 3600, "path": "token"}},
            {"configMap": {"name": "ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        ], "defaultMode": 420}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
            "metadata": {"labels": {"type": "scratch"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                     "resources": {"requests": {"storage": "1Gi"}}},
        }}},
        {"name": "nfs", "nfs": {"server": "10.0.0.5", "path": "/exports"}},
        {"name": "csi", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                "volumeAttributes": {"secretProviderClass": "vault"}}},
    ],
    "initContainers": [{
        "name": "init", "image": "busybox:1.36", "command": ["sh", "-c"], "args": ["echo ready > /work/flag"],
        "restartPolicy": "Always",
    }],
    "containers": [{
        "name": "web", "image": "nginx:1.27", "workingDir": "/srv",
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                  {"containerPort": 9090, "hostPort": 9090, "hostIP": "0.0.0.0", "protocol": "UDP"}],
        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "web-env", "optional": True}},
                    {"secretRef": {"name": "web-secrets"}}],
        "env": [
            {"name": "MODE", "value": "prod"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password", "optional": False}}},
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "web-env", "key": "level"}}},
            {"name": "EMPTY"},
        ],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/nginx/conf.d", "readOnly": True, "subPath": "nginx"},
                         {"name": "cache", "mountPath": "/cache", "mountPropagation": "None"}],
        "volumeDevices": [{"name": "raw", "devicePath": "/dev/xvda"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                      "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                          "initialDelaySeconds": 5, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                          "failureThreshold": 3, "terminationGracePeriodSeconds": 20},
        "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5},
        "startupProbe": {"exec": {"command": ["cat", "/tmp/started"]}, "failureThreshold": 30},
        "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo hi"]}},
                      "preStop": {"sleep": {"seconds": 5}}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}, "privileged": False, "runAsUser": 101,
            "runAsGroup": 101, "runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"}, "appArmorProfile": {"type": "Localhost",
                                                                              "localhostProfile": "web"},
        },
        "stdin": True, "tty": True,
    }, {
        "name": "grpc", "image": "example/grpc:2", "livenessProbe": {"grpc": {"port": 9000, "service": "health"}},
    }],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "activeDeadlineSeconds": 0,
    "dnsPolicy": "ClusterFirst", "nodeSelector": {"kubernetes.io/os": "linux"},
    "serviceAccountName": "web", "automountServiceAccountToken": False,
    "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3000, 4000],
                        "fsGroupChangePolicy": "OnRootMismatch",
                        "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
                        "seLinuxOptions": {"level": "s0:c123,c456"}},
    "imagePullSecrets": [{"name": "registry"}],
    "hostname": "web-0", "subdomain": "web",
    "affinity": {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
        ]}, "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchFields": [{"key": "metadata.name", "operator": "NotIn",
                                                          "values": ["bad-node"]}]}},
        ]},
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname",
             "namespaces": ["prod"], "matchLabelKeys": ["pod-template-hash"]},
        ]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
                "topologyKey": "kubernetes.io/hostname"}},
        ]},
    },
    "schedulerName": "default-scheduler",
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 300}],
    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db.local"]}],
    "priorityClassName": "high", "priority": 0,
    "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["svc.cluster.local"],
                  "options": [{"name": "ndots", "value": "2"}]},
    "readinessGates": [{"conditionType": "example.com/ready"}],
    "enableServiceLinks": False, "preemptionPolicy": "Never",
    "overhead": {"cpu": "250m"},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                                   "labelSelector": {"matchLabels": {"app": "web"}}, "minDomains": 2,
                                   "nodeAffinityPolicy": "Honor"}],
    "setHostnameAsFQDN": False, "os": {"name": "linux"}, "hostUsers": False,
    "schedulingGates": [{"name": "example.com/gate"}],
    "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "gpu-template"}],
}

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": META,
    "spec": {
        "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web", "tier": "frontend"}}, "spec": POD_SPEC},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
        "minReadySeconds": 5, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
    },
    "status": {
        "observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2024-05-01T12:00:10Z",
                        "lastTransitionTime": "2024-05-01T12:00:10Z", "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability."}],
    },
}

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-0", "namespace": "prod", "uid": "11111111-2222-3333-4444-555555555555",
                 "creationTimestamp": "2024-05-01T12:00:00Z", "deletionTimestamp": "2024-05-01T13:00:00Z",
                 "deletionGracePeriodSeconds": 0, "generateName": "web-"},
    "spec": {**POD_SPEC, "nodeName": "node-1", "ephemeralContainers": [{
        "name": "debugger", "image": "busybox", "targetContainerName": "web", "stdin": True, "tty": True,
    }]},
    "status": {
        "phase": "Running", "hostIP": "10.0.0.10", "hostIPs": [{"ip": "10.0.0.10"}], "podIP": "10.244.1.5",
        "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00::5"}], "startTime": "2024-05-01T12:00:01Z",
        "qosClass": "Burstable",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T12:00:05Z"}],
        "containerStatuses": [{
            "name": "web", "ready": True, "restartCount": 0, "image": "nginx:1.27",
            "imageID": "docker.io/nginx@sha256:1",
            "containerID": "containerd://abc", "started": True,
            "state": {"running": {"startedAt": "2024-05-01T12:00:02Z"}},
            "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": "OOMKilled",
                                         "startedAt": "2024-05-01T11:00:00Z", "finishedAt": "2024-05-01T11:59:00Z"}},
            "allocatedResources": {"cpu": "100m"},
        }],
    },
}

SECRET = {
    "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "blob", "namespace": "default"},
    "data": {"binary": base64.b64encode(bytes(range(256))).decode(), "empty": "", "text": "aGVsbG8="},
    "stringData": {"plain": "not yet encoded"}, "type": "Opaque", "immutable": False,
}

SERVICE = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "prod"},
    "spec": {
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                  {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": 9090, "appProtocol": "http"}],
        "selector": {"app": "web"}, "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "type": "LoadBalancer",
        "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
        "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000, "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack", "allocateLoadBalancerNodePorts": True, "internalTrafficPolicy": "Cluster",
    },
    "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7", "ipMode": "VIP",
                                             "ports": [{"port": 80, "protocol": "TCP"}]}]}},
}

OBJECTS: dict[str, dict[str, Any]] = {
    "deployment": DEPLOYMENT,
    "pod": POD,
    "secret": SECRET,
    "service": SERVICE,
    "configmap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
                  "data": {"a": "1", "b": ""}, "binaryData": {"bin": "AP8Q"}, "immutable": True},
    "namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"},
                  "spec": {"finalizers": ["kubernetes"]},
                  "status": {"phase": "Terminating", "conditions": [{
                      "type": "NamespaceDeletionContentFailure", "status": "False",
                      "lastTransitionTime": "2024-05-01T12:00:00Z", "reason": "ContentDeleted", "message": "done"}]}},
    "serviceaccount": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot", "namespace": "ci"},
                       "secrets": [{"name": "bot-token"}], "imagePullSecrets": [{"name": "registry"}],
                       "automountServiceAccountToken": False},
    "resourcequota": {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "ci"},
                      "spec": {"hard": {"cpu": "1", "memory": "1Gi", "pods": "2"}, "scopes": ["NotTerminating"],
                               "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass",
                                                                       "operator": "In", "values": ["high"]}]}},
                      "status": {"hard": {"pods": "2"}, "used": {"pods": "0"}}},
    "event": {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.17c", "namespace": "prod"},
              "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web-0", "uid": "u1", "apiVersion": "v1",
                                 "resourceVersion": "7", "fieldPath": "spec.containers{web}"},
              "reason": "Pulled", "message": "Pulled image", "source": {"component": "kubelet", "host": "node-1"},
              "firstTimestamp": "2024-05-01T12:00:00Z", "lastTimestamp": "2024-05-01T12:00:03Z", "count": 2,
              "type": "Normal", "eventTime": "2024-05-01T12:00:00.123456Z",
              "series": {"count": 2, "lastObservedTime": "2024-05-01T12:00:03.000001Z"}, "action": "Pull",
              "reportingComponent": "kubelet", "reportingInstance": "node-1"},
    "endpoints": {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "prod"},
                  "subsets": [{"addresses": [{"ip": "10.244.1.5", "nodeName": "node-1", "targetRef": {
                      "kind": "Pod", "name": "web-0", "namespace": "prod"}}],
                               "notReadyAddresses": [{"ip": "10.244.1.6"}],
                               "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]},
    "node": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"zone": "a"}},
             "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "providerID": "kind://node-1",
                      "taints": [{"key": "dedicated", "value": "web", "effect": "NoSchedule",
                                  "timeAdded": "2024-05-01T12:00:00Z"}], "unschedulable": True},
             "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                        "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"}, "phase": "Running",
                        "conditions": [{"type": "Ready", "status": "True",
                                        "lastHeartbeatTime": "2024-05-01T12:00:00Z",
                                        "lastTransitionTime": "2024-05-01T11:00:00Z", "reason": "KubeletReady",
                                        "message": "kubelet is posting ready status"}],
                        "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}],
                        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                        "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1",
                                     "osImage": "Debian", "containerRuntimeVersion": "containerd://1.7",
                                     "kubeletVersion": "v1.32.0", "kubeProxyVersion": "v1.32.0",
                                     "operatingSystem": "linux", "architecture": "amd64"},
                        "images": [{"names": ["nginx:1.27"], "sizeBytes": 70000000}],
                        "runtimeHandlers": [{"name": "runc", "features": {"recursiveReadOnlyMounts": True,
                                                                           "userNamespaces": False}}]}},
    "job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "ci"},
            "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 0, "ttlSecondsAfterFinished": 100,
                     "completionMode": "Indexed", "suspend": False, "manualSelector": False,
                     "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
                         "containerName": "main", "operator": "In", "values": [1, 2]}}]},
                     "template": {"spec": {"containers": [{"name": "main", "image": "busybox"}],
                                           "restartPolicy": "Never"}}},
            "status": {"startTime": "2024-05-01T12:00:00Z", "active": 1, "ready": 0,
                       "uncountedTerminatedPods": {"succeeded": ["u1"]}}},
    "cronjob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "ci"},
                "spec": {"schedule": "0 3 * * *", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
                         "suspend": True, "startingDeadlineSeconds": 60, "successfulJobsHistoryLimit": 0,
                         "jobTemplate": {"metadata": {"labels": {"job": "nightly"}}, "spec": {"template": {
                             "spec": {"containers": [{"name": "main", "image": "busybox"}],
                                      "restartPolicy": "OnFailure"}}}}},
                "status": {"active": [{"kind": "Job", "name": "nightly-1", "namespace": "ci"}],
                           "lastScheduleTime": "2024-05-01T03:00:00Z"}},
    "statefulset": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "prod"},
                    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
                             "template": {"metadata": {"labels": {"app": "db"}},
                                          "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
                             "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                                 "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}],
                             "podManagementPolicy": "Parallel",
                             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0,
                                                                                           "maxUnavailable": 1}},
                             "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete",
                                                                      "whenScaled": "Retain"},
                             "ordinals": {"start": 0}},
                    "status": {"replicas": 0, "availableReplicas": 0}},
    "daemonset": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube"},
                  "spec": {"selector": {"matchLabels": {"app": "agent"}},
                           "template": {"metadata": {"labels": {"app": "agent"}},
                                        "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}},
                           "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%",
                                                                                         "maxSurge": 0}}},
                  "status": {"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
                             "numberReady": 1}},
    "replicaset": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d9c", "namespace": "prod"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
                       "metadata": {"labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
                   "status": {"replicas": 1, "fullyLabeledReplicas": 1}},
    "ingress": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "web", "namespace": "prod"},
                "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["example.com"], "secretName": "tls"}],
                         "defaultBackend": {"resource": {"apiGroup": "example.com", "kind": "Bucket", "name": "b"}},
                         "rules": [{"host": "example.com", "http": {"paths": [
                             {"path": "/", "pathType": "Prefix",
                              "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                             {"path": "/api", "pathType": "Exact",
                              "backend": {"service": {"name": "api", "port": {"number": 8080}}}},
                         ]}}]},
                "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com",
                                                         "ports": [{"port": 443, "protocol": "TCP",
                                                                    "error": "pending"}]}]}}},
    "networkpolicy": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "deny", "namespace": "prod"},
                      "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
                               "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                                                     {"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                                            "ports": [{"protocol": "TCP", "port": 80, "endPort": 90},
                                                      {"port": "http"}]}],
                               "egress": [{"to": [{"podSelector": {}}]}]}},
    "role": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": "reader", "namespace": "prod"},
             "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"],
                        "resourceNames": ["web-0"]}]},
    "clusterrole": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "monitoring"},
                    "rules": [{"verbs": ["get"], "nonResourceURLs": ["/metrics"]}],
                    "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/agg": "true"}}]}},
    "rolebinding": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "read", "namespace": "prod"},
                    "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
                                 {"kind": "ServiceAccount", "name": "bot", "namespace": "ci"}],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}},
    "clusterrolebinding": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                           "metadata": {"name": "admins"},
                           "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}],
                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                       "name": "cluster-admin"}},
    "priorityclass": {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "zero"},
                      "value": 0, "globalDefault": True, "description": "d", "preemptionPolicy": "Never"},
    "poddisruptionbudget": {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}},
                 "unhealthyPodEvictionPolicy": "AlwaysAllow"},
        "status": {"observedGeneration": 1, "disruptedPods": {"web-0": "2024-05-01T12:00:00Z"},
                   "disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 3,
                   "conditions": [{"type": "DisruptionAllowed", "status": "False", "observedGeneration": 1,
                                   "lastTransitionTime": "2024-05-01T12:00:00Z", "reason": "InsufficientPods",
                                   "message": ""}]}},
    "eviction": {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-0", "namespace": "prod"},
                 "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "u1", "resourceVersion": "7"},
                                   "propagationPolicy": "Foreground", "dryRun": ["All"]}},
    "tokenrequest": {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "metadata": {"name": "bot", "namespace": "ci"},
                     "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 600,
                              "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web-0", "uid": "u1"}},
                     "status": {"token": "eyJhbGciOi.x.y", "expirationTimestamp": "2024-05-01T12:10:00Z"}},
    "tokenreview": {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                    "spec": {"token": "abc", "audiences": ["api"]},
                    "status": {"authenticated": True, "user": {"username": "system:serviceaccount:ci:bot",
                                                               "uid": "u1", "groups": ["system:serviceaccounts"],
                                                               "extra": {"authentication.kubernetes.io/pod-name": [
                                                                   "web-0"]}},
                               "audiences": ["api"]}},
    "selfsubjectreview": {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                          "metadata": {"creationTimestamp": "2024-05-01T12:00:00Z"},
                          "status": {"userInfo": {"username": "alice", "groups": ["dev", "system:authenticated"],
                                                  "extra": {"scopes": ["a", "b"], "empty": []}}}},
    "selfsubjectaccessreview": {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {
            "namespace": "prod", "verb": "list", "group": "apps", "version": "v1", "resource": "deployments",
            "subresource": "scale", "name": "web",
            "fieldSelector": {"rawSelector": "metadata.name=web",
                              "requirements": [{"key": "metadata.name", "operator": "In", "values": ["web"]}]},
            "labelSelector": {"requirements": [{"key": "app", "operator": "Exists"}]}}},
        "status": {"allowed": False, "denied": True, "reason": "no RBAC policy matched"}},
    "subjectaccessreview": {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}, "user": "alice",
                 "groups": ["dev"], "extra": {"scopes": ["x"]}, "uid": "u1"},
        "status": {"allowed": True, "evaluationError": "partial"}},
    "localsubjectaccessreview": {
        "apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
        "metadata": {"namespace": "prod"},
        "spec": {"resourceAttributes": {"namespace": "prod", "verb": "get", "resource": "pods"}, "user": "bob"},
        "status": {"allowed": False}},
    "selfsubjectrulesreview": {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": "default"},
        "status": {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                   "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*"]}],
                   "incomplete": False}},
    "lease": {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
              "spec": {"holderIdentity": "cm-1", "leaseDurationSeconds": 15,
                       "acquireTime": "2024-05-01T12:00:00.000000Z", "renewTime": "2024-05-01T12:00:09.654321Z",
                       "leaseTransitions": 0}},
    "scale": {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web", "namespace": "prod"},
              "spec": {"replicas": 1}, "status": {"replicas": 3, "selector": "app=web"}},
    "hpa": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                     "minReplicas": 1, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 80}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}},
            "status": {"currentReplicas": 2, "desiredReplicas": 2,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                           "averageValue": "250m", "averageUtilization": 50}}}]}},
    "endpointslice": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": "web-abc", "namespace": "prod"}, "addressType": "IPv4",
                      "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True, "serving": True,
                                                                                  "terminating": False},
                                     "nodeName": "node-1", "zone": "a", "hints": {"forZones": [{"name": "a"}]}}],
                      "ports": [{"name": "http", "protocol": "TCP", "port": 80}]},
    "persistentvolume": {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
                         "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                                  "hostPath": {"path": "/mnt/pv1"}, "volumeMode": "Filesystem",
                                  "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "prod", "name": "data"},
                                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                      {"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
                         "status": {"phase": "Bound", "lastPhaseTransitionTime": "2024-05-01T12:00:00Z"}},
    "status": {"apiVersion": "v1", "kind": "Status", "status": "Failure",
               "message": 'pods "x" is forbidden', "reason": "Forbidden",
               "details": {"name": "x", "kind": "pods", "causes": [{"reason": "FieldValueInvalid",
                                                                   "message": "bad", "field": "spec"}],
                           "retryAfterSeconds": 1},
               "code": 403},
    "deleteoptions": {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "orphanDependents": False},
    "podlist": {"apiVersion": "v1", "kind": "PodList",
                "metadata": {"resourceVersion": "99", "continue": "abc", "remainingItemCount": 0},
                "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}, "spec": {"nodeName": "n"}}]},
    "emptylist": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleList", "items": []},
}


# ---------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", list(OBJECTS))
def test_round_trip_keeps_the_object(name: str) -> None:
    obj = OBJECTS[name]
    body = protobuf.encode_object(obj)
    assert body.startswith(protobuf.MAGIC)
    assert protobuf.decode_object(body) == obj


def test_zero_valued_pointer_fields_survive_and_zero_non_pointer_fields_are_omitted() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "generation": 0},
                  "spec": {"replicas": 0, "paused": False, "minReadySeconds": 0,
                           "template": {"spec": {"securityContext": {}, "containers": [{"name": "c", "image": ""}]}}}}
    decoded = protobuf.decode_object(protobuf.encode_object(deployment))
    assert decoded == {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                       "spec": {"replicas": 0, "template": {"spec": {"securityContext": {},
                                                                     "containers": [{"name": "c"}]}}}}


def test_fields_go_always_writes_to_json_decode_to_zero_values() -> None:
    # PriorityClass.value, SubjectAccessReviewStatus.allowed and list items have no omitempty in Go.
    raw = b"\x0a\x00"  # PriorityClass{metadata: {}}: value absent altogether
    assert protobuf.decode_raw("scheduling.k8s.io/v1", "PriorityClass", raw) == {
        "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "value": 0}
    review = protobuf.encode_object({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                     "status": {"reason": "x"}})
    assert protobuf.decode_object(review)["status"] == {"allowed": False, "reason": "x"}
    assert protobuf.decode_object(protobuf.encode_object({"apiVersion": "v1", "kind": "PodList"}))["items"] == []


def test_decoding_takes_the_last_of_repeated_scalars_and_merges_repeated_messages() -> None:
    # ConfigMap: metadata{name: a} metadata{namespace: n} immutable=true immutable=false
    raw = b"\x0a\x03\x0a\x01a" + b"\x0a\x03\x1a\x01n" + b"\x20\x01" + b"\x20\x00"
    assert protobuf.decode_raw("v1", "ConfigMap", raw) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "immutable": False}


def test_packed_repeated_varints_are_accepted() -> None:
    # PodSecurityContext.supplementalGroups (4) packed: [1, 300]; proto2 readers must accept both forms.
    raw = b"\x22\x03\x01\xac\x02"
    pod_security_context = message("core.v1.PodSecurityContext")
    assert pod_security_context.by_number[4].name == "supplementalGroups"
    spec = b"\x72" + bytes([len(raw)]) + raw  # PodSpec.securityContext = 14
    assert protobuf.decode_raw("v1", "Pod", b"\x12" + bytes([len(spec)]) + spec)["spec"] == {
        "securityContext": {"supplementalGroups": [1, 300]}}


def test_unknown_fields_are_skipped() -> None:
    # ConfigMap{metadata: {name: a}} then fields 127 as varint, bytes, fixed32 and fixed64
    raw = b"\x0a\x03\x0a\x01a" + b"\xf8\x07\x05" + b"\xfa\x07\x02hi" + b"\xfd\x07" + bytes(4) + b"\xf9\x07" + bytes(8)
    assert protobuf.decode_raw("v1", "ConfigMap", raw) == {"apiVersion": "v1", "kind": "ConfigMap",
                                                            "metadata": {"name": "a"}}


def test_negative_and_wide_integers_round_trip() -> None:
    obj = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "generation": (1 << 63) - 1},
           "count": -5, "involvedObject": {"kind": "Pod"}, "reportingComponent": "", "reportingInstance": ""}
    assert protobuf.decode_object(protobuf.encode_object(obj)) == obj


def test_secret_bytes_are_base64_in_the_dict_and_raw_on_the_wire() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "data": {"k": base64.b64encode(b"\x00\xff").decode()}}
    body = protobuf.encode_object(secret)
    assert b"\x0a\x01k\x12\x02\x00\xff" in body
    assert protobuf.decode_object(body)["data"] == {"k": "AP8="}


def test_time_micro_time_and_duration_forms() -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "spec": {"renewTime": "2024-05-01T12:00:00.5Z", "acquireTime": "2024-05-01T14:00:00+02:00"}}
    assert protobuf.decode_object(protobuf.encode_object(lease))["spec"] == {
        "renewTime": "2024-05-01T12:00:00.500000Z", "acquireTime": "2024-05-01T12:00:00.000000Z"}
    # metav1.Time keeps whole seconds, as upstream's Unmarshal drops the nanoseconds.
    meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"creationTimestamp": "1969-12-31T23:59:59.9Z"}}
    assert protobuf.decode_object(protobuf.encode_object(meta))["metadata"] == {
        "creationTimestamp": "1969-12-31T23:59:59Z"}


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [(0, "0s"), (1, "1ns"), (1500, "1.5µs"), (300_000_000, "300ms"), (1_500_000_000, "1.5s"),
     (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (-2 * 10**9, "-2s"),
     (26 * 3600 * 10**9 + 1, "26h0m0.000000001s")],
)
def test_durations_are_go_strings(nanoseconds: int, text: str) -> None:
    assert format_duration(nanoseconds) == text
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "1", "1x", ".s", "-", "1h2", "9999999999h"])
def test_malformed_durations_are_rejected(text: str) -> None:
    with pytest.raises(protobuf.ProtobufError):
        parse_duration(text)


def test_duration_converter_round_trips() -> None:
    payload = ENCODERS["meta.v1.Duration"]("1m30s")
    assert DECODERS["meta.v1.Duration"](payload, 0, len(payload)) == "1m30s"


def test_raw_extension_holds_json_or_an_embedded_protobuf_object() -> None:
    revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
                "data": {"spec": {"template": {"x": [1, "a", None]}}}, "revision": 2}
    body = protobuf.encode_object(revision)
    assert b'{"spec":{"template":{"x":[1,"a",null]}}}' in body
    assert protobuf.decode_object(body) == revision
    embedded = protobuf.encode_object(OBJECTS["configmap"])
    raw_list = b"\x12" + bytes([len(embedded) + 2]) + b"\x0a" + bytes([len(embedded)]) + embedded
    assert protobuf.decode_raw("v1", "List", raw_list) == {
        "apiVersion": "v1", "kind": "List", "items": [OBJECTS["configmap"]]}


# ---------------------------------------------------------------------------------------------- kubectl's descriptors

GZIP_HEADER = b"\x1f\x8b\x08\x00"
NOT_NULLABLE = b"\xc8\xde\x1f\x00"  # gogoproto.nullable = false, the mark of a non-pointer Go field
PROTO_PACKAGES = {
    "meta.v1": "k8s.io.apimachinery.pkg.apis.meta.v1", "runtime": "k8s.io.apimachinery.pkg.runtime",
    "intstr": "k8s.io.apimachinery.pkg.util.intstr", "resource": "k8s.io.apimachinery.pkg.api.resource",
}
SCALAR_KINDS = {
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: STRING, descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: BYTES,
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: BOOL, descriptor_pb2.FieldDescriptorProto.TYPE_INT32: INT32,
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: INT64,
}
SPECIAL_KINDS = {SPECIAL: MESSAGE}  # special messages are plain messages on the wire


def _proto_package(package: str) -> str:
    return PROTO_PACKAGES.get(package, f"k8s.io.api.{package}")


def _proto_name(qualified: str) -> str:
    package, _, name = qualified.rpartition(".")
    return f"{_proto_package(package)}.{name}"


@pytest.fixture(scope="module")
def kubectl_files() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """The FileDescriptorProtos kubectl v1.32 registers (gzipped in its data section), by protobuf package."""
    binary = pathlib.Path(KUBECTL).read_bytes()
    view = memoryview(binary)
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    pos = binary.find(GZIP_HEADER)
    while pos != -1:
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(view[pos:pos + (1 << 20)])
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except (zlib.error, DecodeError):  # most of these four bytes in a binary start no descriptor at all
            file = None
        if file is not None and file.package.startswith("k8s.io.") and file.name.endswith("generated.proto"):
            files[file.package] = file
        pos = binary.find(GZIP_HEADER, pos + len(GZIP_HEADER))
    return files


def _their_field(field: descriptor_pb2.FieldDescriptorProto, owner: descriptor_pb2.DescriptorProto) -> tuple[Any, ...]:
    # A map field refers to an entry message nested in its owner, whose field 2 is the value.
    entries = {nested.name: nested for nested in owner.nested_type if nested.options.map_entry}
    entry = entries.get(field.type_name.rpartition(".")[2]) if field.type_name.endswith("Entry") else None
    is_map = entry is not None
    value = entry.field[1] if entry is not None else field
    repeated = field.label == field.LABEL_REPEATED and not is_map
    if value.type == value.TYPE_MESSAGE:
        kind, type_name = MESSAGE, value.type_name.lstrip(".")
    else:
        kind, type_name = SCALAR_KINDS[value.type], ""
    pointer = not (repeated or is_map or field.type == field.TYPE_BYTES) and (
        NOT_NULLABLE not in field.options.SerializeToString())
    return field.number, field.name.lower(), kind, type_name, repeated, is_map, pointer


def test_every_declaration_matches_kubectl_1_32(kubectl_files: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
    for package in PACKAGES:
        file = kubectl_files[_proto_package(package.name)]
        theirs = {described.name: described for described in file.message_type}
        assert set(package.messages) == set(theirs), package.name
        for name, described in theirs.items():
            ours = message(f"{package.name}.{name}")
            assert [
                (field.number, field.name.lower(), SPECIAL_KINDS.get(field.kind, field.kind),
                 _proto_name(field.type_name) if field.type_name else "", field.repeated, field.is_map, field.pointer)
                for field in ours.fields
            ] == sorted(_their_field(field, described) for field in described.field), ours.name


def test_every_kind_is_a_declared_message_and_every_reference_resolves() -> None:
    for package in PACKAGES:
        assert set(package.kinds.split()) <= set(package.messages), package.name
    for name in message_names():
        message(name)
    assert set(DECODERS) | {"runtime.RawExtension"} == SPECIAL_MESSAGES == set(ENCODERS) | {"runtime.RawExtension"}


@pytest.fixture(scope="module")
def kubectl_pool(kubectl_files: dict[str, descriptor_pb2.FileDescriptorProto]) -> descriptor_pool.DescriptorPool:
    """A pool of kubectl's own descriptors for upb, the protobuf package's parser (gogo.proto left out)."""
    pool = descriptor_pool.DescriptorPool()
    by_name = {file.name: file for file in kubectl_files.values()}
    added: set[str] = set()

    def add(name: str) -> None:
        file = by_name[name]
        for dependency in file.dependency:
            if dependency in by_name and dependency not in added:
                add(dependency)
        copied = descriptor_pb2.FileDescriptorProto()
        copied.CopyFrom(file)
        copied.ClearField("dependency")
        copied.dependency.extend(dependency for dependency in file.dependency if dependency in by_name)
        pool.Add(copied)
        added.add(name)

    for name in by_name:
        if name not in added:
            add(name)
    return pool


def _unknown_fields(value: ProtoMessage, path: str) -> Iterator[str]:
    for field in unknown_fields.UnknownFieldSet(value):
        yield f"{path}#{field.field_number}"
    for described, content in value.ListFields():
        if described.type != described.TYPE_MESSAGE:
            continue
        if described.message_type.GetOptions().map_entry:
            items = content.values() if described.message_type.fields_by_number[2].message_type else []
        else:
            items = content if described.is_repeated else [content]
        for index, item in enumerate(items):
            yield from _unknown_fields(item, f"{path}.{described.name}[{index}]")


@pytest.mark.parametrize("name", list(OBJECTS))
def test_upb_reads_our_bytes_with_kubectls_descriptors(name: str, kubectl_pool: descriptor_pool.DescriptorPool) -> None:
    api_version, kind, raw = protobuf.decode_envelope(protobuf.encode_object(OBJECTS[name]))
    qualified = kind_message_name(api_version, kind)
    assert qualified is not None
    parsed = message_factory.GetMessageClass(kubectl_pool.FindMessageTypeByName(_proto_name(qualified)))()
    parsed.ParseFromString(raw)
    assert list(_unknown_fields(parsed, kind)) == []
    assert protobuf.decode_raw(api_version, kind, parsed.SerializeToString(deterministic=True)) == OBJECTS[name]


# ---------------------------------------------------------------------------------------------- the real kubectl

DISCOVERY_TYPE = b"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
DISCOVERY = {
    "/api": {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": [{
        "metadata": {}, "versions": [{"version": "v1", "freshness": "Current", "resources": [
            {"resource": "pods", "responseKind": {"group": "", "version": "v1", "kind": "Pod"}, "scope": "Namespaced",
             "singularResource": "pod", "verbs": ["create", "get", "list"]},
            {"resource": "nodes", "responseKind": {"group": "", "version": "v1", "kind": "Node"}, "scope": "Cluster",
             "singularResource": "node", "verbs": ["get", "list"]},
        ]}],
    }]},
    "/apis": {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": []},
}


class KubectlPeer:
    """Just enough API server for kubectl's typed clients.

    Serves aggregated discovery (pods and nodes, for `create role` and `auth can-i`), records every POST body and
    answers it with `answer` in protobuf, so kubectl's Go decoder reads what our encoder wrote.
    """

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.posts: list[tuple[str, bytes, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            received = await receive()
            body += received.get("body", b"")
            if not received.get("more_body"):
                break
        if scope["method"] == "POST":
            self.posts.append((scope["path"], dict(scope["headers"]).get(b"content-type", b""), body))
            await _respond(send, 201, protobuf.MEDIA_TYPE.encode(), protobuf.encode_object(self.answer))
        elif scope["path"] in DISCOVERY:
            await _respond(send, 200, DISCOVERY_TYPE, json.dumps(DISCOVERY[scope["path"]]).encode())
        else:
            await _respond(send, 404, b"application/json", b'{"kind":"Status","apiVersion":"v1","code":404}')


async def _respond(send: Any, status: int, content_type: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


async def _kubectl(answer: dict[str, Any], *args: str, home: pathlib.Path) -> tuple[KubectlPeer, int, str, str]:
    peer = KubectlPeer(answer)
    async with serve_over_http(peer) as url:
        process = await asyncio.create_subprocess_exec(
            KUBECTL, "--server", url, *args, env={"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin")},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=home,
        )
        async with asyncio.timeout(60):
            out, err = await process.communicate()
    return peer, process.returncode or 0, out.decode(), err.decode()


def _pruned(value: Any) -> Any:
    """`value` without nulls, empty objects and empty lists: what Go's JSON adds for zero structs and nil slices."""
    if isinstance(value, dict):
        pruned = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


V1, APPS, BATCH, RBAC = "v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"

KUBECTL_CREATES = [
    (["configmap", "x", "--from-literal=a=b"],
     {"apiVersion": V1, "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}, "configmap"),
    (["secret", "generic", "s", "--from-literal=k=v", "--from-file=bin=blob"],
     {"apiVersion": V1, "kind": "Secret", "metadata": {"name": "s"}, "data": {"bin": "AP8QYmluYXJ5", "k": "dg=="}},
     "secret"),
    (["namespace", "ns1"], {"apiVersion": V1, "kind": "Namespace", "metadata": {"name": "ns1"}}, "namespace"),
    (["deployment", "web", "--image=nginx", "--replicas=0", "--port=80"],
     {"apiVersion": APPS, "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
      "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "template": {
          "metadata": {"labels": {"app": "web"}},
          "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}},
     "deployment"),
    (["serviceaccount", "sa"], {"apiVersion": V1, "kind": "ServiceAccount", "metadata": {"name": "sa"}},
     "serviceaccount"),
    (["service", "clusterip", "web", "--tcp=80:8080"],
     {"apiVersion": V1, "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
      "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
               "selector": {"app": "web"}, "type": "ClusterIP"}}, "service"),
    (["service", "nodeport", "np", "--tcp=80:http"],
     {"apiVersion": V1, "kind": "Service", "metadata": {"name": "np", "labels": {"app": "np"}},
      "spec": {"ports": [{"name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http"}],
               "selector": {"app": "np"}, "type": "NodePort"}}, "service"),
    (["job", "j", "--image=busybox", "--", "echo", "hi"],
     {"apiVersion": BATCH, "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {
         "containers": [{"name": "j", "image": "busybox", "command": ["echo", "hi"]}], "restartPolicy": "Never"}}}},
     "job"),
    (["cronjob", "cj", "--image=busybox", "--schedule=*/1 * * * *"],
     {"apiVersion": BATCH, "kind": "CronJob", "metadata": {"name": "cj"}, "spec": {
         "schedule": "*/1 * * * *", "jobTemplate": {"metadata": {"name": "cj"}, "spec": {"template": {"spec": {
             "containers": [{"name": "cj", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}}, "cronjob"),
    (["ingress", "ing", "--rule=foo.com/bar=svc1:8080"],
     {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"}, "spec": {"rules": [{
         "host": "foo.com", "http": {"paths": [{"path": "/bar", "pathType": "Exact", "backend": {
             "service": {"name": "svc1", "port": {"number": 8080}}}}]}}]}}, "ingress"),
    (["role", "r", "--verb=get", "--resource=pods"],
     {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "r"},
      "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}, "role"),
    (["clusterrole", "cr", "--verb=get", "--resource=nodes"],
     {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "cr"},
      "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}]}, "clusterrole"),
    (["rolebinding", "rb", "--role=r", "--user=u"],
     {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "rb"},
      "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "u"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}}, "rolebinding"),
    (["clusterrolebinding", "crb", "--clusterrole=cr", "--serviceaccount=default:sa"],
     {"apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": {"name": "crb"},
      "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "default"}],
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cr"}},
     "clusterrolebinding"),
    (["quota", "q", "--hard=cpu=1,memory=1Gi,pods=2"],
     {"apiVersion": V1, "kind": "ResourceQuota", "metadata": {"name": "q"},
      "spec": {"hard": {"cpu": "1", "memory": "1Gi", "pods": "2"}}}, "resourcequota"),
    (["priorityclass", "pc", "--value=0", "--description=d"],
     {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "pc"}, "value": 0,
      "description": "d", "preemptionPolicy": "PreemptLowerPriority"}, "priorityclass"),
    (["poddisruptionbudget", "pdb", "--selector=app=x", "--min-available=50%"],
     {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb"},
      "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "x"}}},
      "status": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}},
     "poddisruptionbudget"),
]


@pytest.mark.parametrize(("args", "request_body", "answer"), KUBECTL_CREATES,
                         ids=[" ".join(args[:2]) for args, _, _ in KUBECTL_CREATES])
async def test_kubectl_create_sends_protobuf_we_decode_and_reads_protobuf_we_encode(
    args: list[str], request_body: dict[str, Any], answer: str, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "blob").write_bytes(b"\x00\xff\x10binary")
    # Output flags go before `--`, after which everything belongs to the container command.
    split = args.index("--") if "--" in args else len(args)
    flags = ["-o", "json", "--show-managed-fields"]
    peer, code, out, err = await _kubectl(
        OBJECTS[answer], "create", *args[:split], *flags, *args[split:], home=tmp_path
    )
    assert code == 0, err
    [(_, content_type, body)] = peer.posts
    assert content_type == protobuf.MEDIA_TYPE.encode()
    assert protobuf.decode_object(body) == request_body
    assert _pruned(json.loads(out)) == _pruned(OBJECTS[answer])


async def test_kubectl_auth_can_i_sends_a_review_and_prints_our_denial(tmp_path: pathlib.Path) -> None:
    peer, code, out, _ = await _kubectl(OBJECTS["selfsubjectaccessreview"], "auth", "can-i", "create", "pods",
                                        home=tmp_path)
    assert (code, out) == (1, "no - no RBAC policy matched\n")
    assert protobuf.decode_object(peer.posts[0][2]) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
        "status": {"allowed": False}}


async def test_kubectl_auth_can_i_list_prints_our_rules(tmp_path: pathlib.Path) -> None:
    peer, code, out, err = await _kubectl(OBJECTS["selfsubjectrulesreview"], "auth", "can-i", "--list",
                                          home=tmp_path)
    assert code == 0, err
    assert protobuf.decode_object(peer.posts[0][2]) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"},
        "status": {"incomplete": False}}
    assert [line.split() for line in out.splitlines()[1:]] == [
        ["*.*", "[]", "[]", "[*]"], ["[/api/*]", "[]", "[get]"], ["[/api]", "[]", "[get]"]]


async def test_kubectl_auth_whoami_reads_our_user_info(tmp_path: pathlib.Path) -> None:
    peer, code, out, err = await _kubectl(OBJECTS["selfsubjectreview"], "auth", "whoami", "-o", "json", home=tmp_path)
    assert code == 0, err
    assert protobuf.decode_object(peer.posts[0][2]) == {"apiVersion": "authentication.k8s.io/v1",
                                                        "kind": "SelfSubjectReview"}
    assert _pruned(json.loads(out)) == _pruned(OBJECTS["selfsubjectreview"])


async def test_kubectl_create_token_sends_a_token_request_and_prints_our_token(tmp_path: pathlib.Path) -> None:
    peer, code, out, err = await _kubectl(OBJECTS["tokenrequest"], "create", "token", "bot", "--duration=10m",
                                          "--audience=x", home=tmp_path)
    assert (code, out) == (0, "eyJhbGciOi.x.y"), err
    [(path, _, body)] = peer.posts
    assert path == "/api/v1/namespaces/default/serviceaccounts/bot/token"
    assert protobuf.decode_object(body) == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": ["x"], "expirationSeconds": 600}, "status": {"token": ""}}


# Captured once from `kubectl.1.32 auth can-i create pods` against a logging server (reference/kubectl-protocol.md
# §6), so this check needs neither kubectl nor our encoder.
CAN_I_CREATE_PODS = base64.b64decode(
    "azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSPwoQCgASABoAIgAqADIAOABCABIhCh8K"
    "B2RlZmF1bHQSBmNyZWF0ZRoAIgAqBHBvZHMyADoAGggIABIAGgAgABoAIgA="
)


def test_a_recorded_kubectl_body_decodes() -> None:
    assert protobuf.decode_object(CAN_I_CREATE_PODS) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
        "status": {"allowed": False}}


# ---------------------------------------------------------------------------------------------- envelope and kinds


def test_envelope_layout_is_magic_then_unknown() -> None:
    body = protobuf.encode_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    assert body == b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x05\x0a\x03\x0a\x01a\x1a\x00\x22\x00"
    assert protobuf.decode_envelope(body) == ("v1", "Namespace", b"\x0a\x03\x0a\x01a")


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "empty data"), (b"{}", "provided data does not appear to be a protobuf message, expected prefix "
                                   "[107 56 115 0]"), (b"k8s\x00", "empty body"),
     (b"k8s\x00\x0a\x10\x0a", "unexpected EOF"), (b"k8s\x00\x0b", "illegal wire type 3 for field 1")],
    ids=["empty", "json", "magic-only", "truncated", "group"],
)
def test_malformed_envelopes_are_rejected(body: bytes, message: str) -> None:
    with pytest.raises(protobuf.ProtobufError, match=message.replace("[", r"\[")):
        protobuf.decode_object(body)


def test_missing_kind_is_taken_from_the_endpoint_defaults() -> None:
    body = b"k8s\x00\x12\x05\x0a\x03\x0a\x01a"
    assert protobuf.decode_envelope(body) == ("", "", b"\x0a\x03\x0a\x01a")
    with pytest.raises(protobuf.ProtobufError, match="Kind"):
        protobuf.decode_object(body)
    assert protobuf.decode_object(body, default_api_version="v1", default_kind="ConfigMap") == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("example.com/v1", "Widget"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
     ("apps/v1beta1", "Deployment"), ("v1", "PodSpec"), ("meta.k8s.io/v1", "Table")],
)
def test_kinds_without_a_table_are_unsupported(api_version: str, kind: str) -> None:
    assert not protobuf.supports_protobuf(api_version, kind)
    with pytest.raises(protobuf.UnsupportedProtobufKind) as raised:
        protobuf.encode_object({"apiVersion": api_version, "kind": kind})
    assert (raised.value.api_version, raised.value.kind) == (api_version, kind)
    envelope = b"k8s\x00\x0a" + bytes([len(api_version) + len(kind) + 4]) + b"\x0a" + bytes([len(api_version)])
    envelope += api_version.encode() + b"\x12" + bytes([len(kind)]) + kind.encode()
    with pytest.raises(protobuf.UnsupportedProtobufKind):
        protobuf.decode_object(envelope)


def test_meta_kinds_resolve_in_every_group_version() -> None:
    options = {"apiVersion": "example.com/v1", "kind": "DeleteOptions", "propagationPolicy": "Orphan"}
    assert protobuf.supports_protobuf("apps/v1", "WatchEvent")
    assert protobuf.decode_object(protobuf.encode_object(options)) == options


def test_status_is_encoded_as_v1_whatever_the_group() -> None:
    status = NotFound("deployments", "web", group="apps").to_status()
    body = protobuf.encode_status(status)
    assert protobuf.decode_envelope(body)[:2] == ("v1", "Status")
    decoded = protobuf.decode_object(body)
    assert decoded == {"apiVersion": "v1", "kind": "Status", **{key: value for key, value in status.items()
                                                                 if key not in ("apiVersion", "kind", "metadata")}}


def test_encode_list_builds_the_list_message() -> None:
    items = [{"metadata": {"name": "a"}, "data": {"k": "v"}}, {"metadata": {"name": "b"}}]
    body = protobuf.encode_list("v1", "ConfigMapList", {"resourceVersion": "5"}, items)
    assert protobuf.decode_object(body) == {"apiVersion": "v1", "kind": "ConfigMapList",
                                            "metadata": {"resourceVersion": "5"}, "items": items}


@pytest.mark.parametrize(
    ("obj", "message"),
    [({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": 1}}, "core.v1.ConfigMap.data: expected a string"),
     ({"apiVersion": "v1", "kind": "ConfigMap", "data": []}, "core.v1.ConfigMap.data: expected an object"),
     ({"apiVersion": "v1", "kind": "ConfigMap", "immutable": "yes"}, "expected a boolean"),
     ({"apiVersion": "v1", "kind": "Secret", "data": {"k": "not base64!"}}, "illegal base64 data"),
     ({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 1 << 31}}, "overflows int32"),
     ({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": True}}, "expected an integer"),
     ({"apiVersion": "v1", "kind": "Pod", "metadata": {"creationTimestamp": "yesterday"}}, "not an RFC 3339 time"),
     ({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"targetPort": 1.5}]}}, "int-or-string"),
     ({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": {}}}, "expected a list"),
     ({"apiVersion": 1, "kind": "Pod"}, "apiVersion and kind must be strings")],
)
def test_values_of_the_wrong_type_are_rejected(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(protobuf.ProtobufError, match=message):
        protobuf.encode_object(obj)


# ---------------------------------------------------------------------------------------------- watch frames


def test_watch_frame_is_length_prefixed_bare_watch_event_embedding_an_envelope() -> None:
    obj = OBJECTS["configmap"]
    frame = protobuf.encode_watch_event("ADDED", obj)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    embedded = protobuf.encode_object(obj)
    assert frame[4:] == (b"\x0a\x05ADDED\x12" + _varint(len(embedded) + 1 + len(_varint(len(embedded))))
                         + b"\x0a" + _varint(len(embedded)) + embedded)
    assert protobuf.decode_watch_event(frame) == ("ADDED", obj)


def test_watch_error_event_carries_a_status() -> None:
    status = {"metadata": {}, "status": "Failure", "message": "too old resource version: 1 (5)", "reason": "Expired",
              "code": 410}
    frame = protobuf.encode_watch_event("ERROR", status, api_version="v1", kind="Status")
    assert protobuf.decode_watch_event(frame) == ("ERROR", {"apiVersion": "v1", "kind": "Status", **{
        key: value for key, value in status.items() if key != "metadata"}})


def test_watch_frame_with_a_wrong_length_is_rejected() -> None:
    frame = protobuf.encode_watch_event("DELETED", OBJECTS["namespace"])
    with pytest.raises(protobuf.ProtobufError, match="length"):
        protobuf.decode_watch_event(frame[:-1])


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# ---------------------------------------------------------------------------------------------- speed


def test_decoding_a_deployment_takes_well_under_a_millisecond() -> None:
    body = protobuf.encode_object(DEPLOYMENT)
    protobuf.decode_object(body)
    best = min(_timed(lambda: protobuf.decode_object(body)) for _ in range(30))
    assert best < 0.001


def _timed(action: Any) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start
