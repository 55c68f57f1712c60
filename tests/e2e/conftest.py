"""Live servers for the end-to-end tests: one per module and storage backend (SQLite, and the session's etcd)."""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")
os.environ.setdefault("PILOTHOUSE_SECRET_KEY", "tests-only-not-a-secret")

BACKENDS = ("sqlite", "etcd3")
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"  # published in every namespace by its controller


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A live server over HTTPS on the given backend, shared by the tests of one module."""
    data_dir = tmp_path_factory.mktemp(f"e2e-{request.param}") / "data"
    if request.param == "etcd3":
        etcd = request.getfixturevalue("etcd")
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=etcd.url,
                                extra_args=["--etcd-prefix", f"/e2e-{uuid.uuid4().hex[:8]}"])
    else:
        process = ServerProcess(data_dir)
    with process:
        yield process


@pytest.fixture(scope="module")
def api_client(server: ServerProcess) -> Iterator[k8s.ApiClient]:
    """The official Python client, configured from the server's admin kubeconfig."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def namespace(api_client: k8s.ApiClient, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test (the server is shared by the module)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = k8s.CoreV1Api(api_client)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    # Pods are admitted only once the namespace's `default` ServiceAccount exists (the ServiceAccount admission
    # plugin), which its controller creates a moment after the namespace, as another one publishes the
    # `kube-root-ca.crt` ConfigMap: wait for both as a careful client would, so tests start from a settled one.
    deadline = time.monotonic() + 15
    for read in (lambda: core.read_namespaced_service_account("default", name),
                 lambda: core.read_namespaced_config_map(ROOT_CA_CONFIGMAP, name)):
        while True:
            try:
                read()
                break
            except k8s.ApiException as error:
                if error.status != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(0.05)
    return name


@pytest.fixture
def kubectl(server: ServerProcess, tmp_path: Path) -> Kubectl:
    """kubectl 1.32 with the admin kubeconfig and a HOME (so discovery caches) of its own."""
    return Kubectl(server.kubeconfig, tmp_path / "home")
