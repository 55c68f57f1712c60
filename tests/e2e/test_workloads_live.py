"""Workload types on a live server (SQLite and etcd): kubectl-created Deployments read back with upstream's
defaults, `kubectl scale` through the scale subresource (owning replicas on the Deployment), upstream's Invalid
messages, a Job's generated selector and a CronJob with a bad schedule refused."""
from __future__ import annotations

import json

import pytest

from tests.support.kubectl import Kubectl, kubectl_binary

pytestmark = pytest.mark.slow


def run(kubectl: Kubectl, *args: str, stdin: str | None = None) -> str:
    result = kubectl.run(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def get_json(kubectl: Kubectl, namespace: str, *target: str) -> dict:  # type: ignore[type-arg]
    loaded: dict = json.loads(run(kubectl, "get", *target, "-n", namespace, "-o", "json"))  # type: ignore[type-arg]
    return loaded


def test_created_deployment_reads_back_with_defaults(kubectl: Kubectl, namespace: str) -> None:
    run(kubectl, "create", "deployment", "web", "--image=nginx", "-n", namespace)
    spec = get_json(kubectl, namespace, "deployment", "web")["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["selector"] == {"matchLabels": {"app": "web"}}


def test_kubectl_scale_changes_replicas_and_generation(kubectl: Kubectl, namespace: str) -> None:
    run(kubectl, "create", "deployment", "web", "--image=nginx", "-n", namespace)
    assert run(kubectl, "scale", "deployment", "web", "--replicas=3", "-n", namespace).strip() == (
        "deployment.apps/web scaled")
    scaled = get_json(kubectl, namespace, "deployment", "web")
    assert (scaled["spec"]["replicas"], scaled["metadata"]["generation"]) == (3, 2)
    # The scaler owns replicas through the scale subresource; the creator the rest.
    entries = json.loads(run(kubectl, "get", "deployment", "web", "-n", namespace, "-o", "json",
                             "--show-managed-fields"))["metadata"]["managedFields"]
    scaler = kubectl_binary().name  # upstream's manager from kubectl's user agent: the binary's name
    assert [entry for entry in entries if entry["manager"] == scaler] == [
        {"manager": scaler, "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}, "subresource": "scale"}]
    creator = next(entry for entry in entries if entry["manager"] == "kubectl-create")
    assert "f:replicas" not in creator["fieldsV1"]["f:spec"] and "f:template" in creator["fieldsV1"]["f:spec"]
    stale = kubectl.run("scale", "deployment", "web", "--current-replicas=2", "--replicas=5", "-n", namespace)
    assert stale.returncode != 0
    assert "Expected replicas to be 2, was 3" in stale.stderr
    run(kubectl, "scale", "deployment", "web", "--current-replicas=3", "--replicas=0", "-n", namespace)
    scale = json.loads(run(kubectl, "get", "--raw",
                           f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale"))
    assert (scale["kind"], scale["spec"], scale["status"]["selector"]) == ("Scale", {}, "app=web")


def test_deployment_whose_selector_misses_its_template_is_refused(kubectl: Kubectl, namespace: str) -> None:
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"},
                "spec": {"selector": {"matchLabels": {"app": "other"}},
                         "template": {"metadata": {"labels": {"app": "bad"}},
                                      "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    result = kubectl.run("create", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))
    assert result.returncode != 0
    assert result.stderr.strip() == (
        'The Deployment "bad" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"bad"}: `selector` does not match template `labels`')
    assert kubectl.run("get", "deployment", "bad", "-n", namespace).returncode != 0


def test_job_gets_its_generated_selector_and_labels(kubectl: Kubectl, namespace: str) -> None:
    run(kubectl, "create", "job", "pi", "--image=busybox", "-n", namespace, "--", "true")
    job = get_json(kubectl, namespace, "job", "pi")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi", "controller-uid": uid,
        "job-name": "pi"}
    assert (job["spec"]["backoffLimit"], job["spec"]["completionMode"]) == (6, "NonIndexed")


def test_cron_job_with_a_bad_schedule_is_refused(kubectl: Kubectl, namespace: str) -> None:
    result = kubectl.run("create", "cronjob", "tick", "--image=busybox", "--schedule=61 * * * *", "-n", namespace)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        'error: failed to create cronjob: CronJob.batch "tick" is invalid: spec.schedule: Invalid value: '
        '"61 * * * *": end of range (61) above maximum (59): 61')
