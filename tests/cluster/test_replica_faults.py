"""Replica faults during a write stream: a replica killed mid-write, and the controller leader killed.

The writer goes through the balancer and carries on on the surviving replica; the killed replica's watcher
resumes (or relists on 410) once it is restarted. Then the same accounting as the etcd faults.
"""
from __future__ import annotations

import time

from tests.cluster.conftest import leader_election_flags
from tests.cluster.scenario import run_with_fault
from tests.cluster.streams import Api, configmaps, create_namespace
from tests.support.cluster import Cluster, Replica, poll

HOLD = "example.com/hold"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"


def test_killing_a_replica_mid_write_loses_nothing(cluster: Cluster, apis: dict[str, Api]) -> None:
    victim = cluster.replicas[0]
    outcome = run_with_fault(cluster, apis, victim.kill, after_fault=lambda: cluster.start_replica(victim))
    print(outcome.summary())
    assert outcome.problems == [], outcome.summary()
    assert outcome.watchers[0].resumes >= 1, outcome.summary()  # its watch did break


def _leader(api: Api, cluster: Cluster) -> tuple[Replica, str]:
    """The replica holding the controllers' lease (holderIdentity `replicaN_<uuid>`, N from --hostname-override)."""
    holder = api.ok("GET", LEASE)["spec"]["holderIdentity"]
    index = int(holder.split("_", 1)[0].removeprefix("replica"))
    return cluster.replicas[index - 1], holder


def test_killing_the_controller_leader_hands_over_and_finishes_a_namespace_deletion(
    cluster: Cluster, apis: dict[str, Api]
) -> None:
    """The namespace controller of the leader starts deleting a namespace, held back by a ConfigMap's finalizer;
    the leader is killed, the finalizer removed: only the new leader can finish the deletion."""
    assert leader_election_flags(), "this build has no --leader-elect-* flags"
    lb = apis["lb"]
    leader, holder = poll(lambda: _leader(lb, cluster), 15, "a controller leader")
    doomed = create_namespace(lb)
    for index in range(5):
        lb.ok("POST", configmaps(doomed), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{index}"}})
    lb.ok("POST", configmaps(doomed), {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "held", "finalizers": [HOLD]}})
    killed_at: list[float] = []

    def delete_then_kill_the_leader() -> None:
        lb.ok("DELETE", f"/api/v1/namespaces/{doomed}")
        poll(lambda: lb.ok("GET", configmaps(doomed, "held"))["metadata"].get("deletionTimestamp"), 30,
             "the leader's namespace controller deleting the namespace's content")
        leader.kill()
        killed_at.append(time.monotonic())
        held = lb.ok("GET", configmaps(doomed, "held"))
        held["metadata"]["finalizers"] = []
        lb.ok("PUT", configmaps(doomed, "held"), held)
        assert lb.ok("GET", f"/api/v1/namespaces/{doomed}")["status"]["phase"] == "Terminating"

    survivor = next(replica for replica in cluster.replicas if replica is not leader)
    elapsed: list[float] = []

    def wait_for_hand_over() -> None:
        poll(lambda: _leader(apis[survivor.host], cluster)[0] is survivor, 20, "the surviving replica leading")
        elapsed.append(time.monotonic() - killed_at[0])
        poll(lambda: apis[survivor.host].call("GET", f"/api/v1/namespaces/{doomed}")[0] == 404, 30,
             "the new leader finishing the namespace deletion")
        elapsed.append(time.monotonic() - killed_at[0])
        cluster.start_replica(leader)

    outcome = run_with_fault(cluster, apis, delete_then_kill_the_leader, after_fault=wait_for_hand_over)
    print(outcome.summary(), f"hand-over after {elapsed[0]:.1f}s, namespace gone after {elapsed[1]:.1f}s")
    assert outcome.problems == [], outcome.summary()
    assert _leader(lb, cluster)[1] != holder
    # --leader-elect-lease-duration 4s, retry period 0.5s: the lease is taken within about 4.6 s of the kill
    assert elapsed[0] < 9, elapsed  # well under the 15 s default, with room for a loaded machine
