"""The admission flags and the chain's order (upstream's AdmissionOptions)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apiserver.admission.chain import (
    ADMISSION_PLUGINS,
    DEFAULT_ENABLED_PLUGINS,
    admission_flag_problems,
    build_admission_chain,
    enabled_plugin_names,
)
from apiserver.server.config import SERVE_FLAGS, ServerConfig
from apiserver.server.flags import FlagError, parse_flags
from tests.admission.fakes import FakeContext

V132_DEFAULTS_HERE = ("NamespaceLifecycle", "LimitRanger", "ServiceAccount", "PodSecurity", "Priority",
                      "DefaultTolerationSeconds", "DefaultStorageClass", "PersistentVolumeClaimResize",
                      "RuntimeClass", "CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction",
                      "DefaultIngressClass", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy",
                      "ValidatingAdmissionWebhook", "ResourceQuota")


def test_default_chain_is_upstreams_default_on_set_in_upstreams_order() -> None:
    assert enabled_plugin_names() == V132_DEFAULTS_HERE == DEFAULT_ENABLED_PLUGINS


def test_enable_and_disable_keep_upstreams_order_whatever_the_flag_order() -> None:
    names = enabled_plugin_names(("ResourceQuota", "NodeRestriction"), ("PodSecurity", "LimitRanger"))
    assert names == ("NamespaceLifecycle", "ServiceAccount", "NodeRestriction", "Priority",
                     "DefaultTolerationSeconds", "DefaultStorageClass", "PersistentVolumeClaimResize",
                     "RuntimeClass", "CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction",
                     "DefaultIngressClass", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy",
                     "ValidatingAdmissionWebhook", "ResourceQuota")


def test_build_orders_plugins_as_upstream() -> None:
    chain = build_admission_chain(["ResourceQuota", "ServiceAccount", "NamespaceLifecycle"], FakeContext())
    assert chain.names == ("NamespaceLifecycle", "ServiceAccount", "ResourceQuota")


@pytest.mark.parametrize(
    ("enable", "disable", "problems"),
    [
        (("Bogus",), (), ['enable-admission-plugins plugin "Bogus" is unknown']),
        ((), ("Nope",), ['disable-admission-plugins plugin "Nope" is unknown']),
        (("Priority", "LimitRanger"), ("LimitRanger", "Priority"),
         ["[LimitRanger Priority] in enable-admission-plugins and disable-admission-plugins overlapped"]),
        (("AlwaysPullImages",), (), []),
    ],
    ids=["unknown-enable", "unknown-disable", "overlap", "known-upstream-name"],
)
def test_flag_problems(enable: tuple[str, ...], disable: tuple[str, ...], problems: list[str]) -> None:
    assert admission_flag_problems(enable, disable) == problems


def test_every_registered_plugin_is_built() -> None:
    chain = build_admission_chain(list(ADMISSION_PLUGINS), FakeContext())
    assert set(chain.names) == set(ADMISSION_PLUGINS)


def config_from(*args: str) -> ServerConfig:
    return ServerConfig.from_flags(parse_flags(SERVE_FLAGS, list(args), command="serve"))


def test_admission_flags_reach_the_config_in_any_order() -> None:
    config = config_from("--enable-admission-plugins=ResourceQuota,NodeRestriction",
                         "--disable-admission-plugins", "PodSecurity")
    assert (config.enable_admission_plugins, config.disable_admission_plugins) == (
        ("ResourceQuota", "NodeRestriction"), ("PodSecurity",))


def test_unknown_admission_plugin_is_a_flag_error() -> None:
    with pytest.raises(FlagError) as raised:
        config_from("--enable-admission-plugins=Bogus")
    assert str(raised.value) == 'enable-admission-plugins plugin "Bogus" is unknown'


def test_serve_refuses_an_unknown_admission_plugin_like_other_bad_flags() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--disable-admission-plugins=Nope"], capture_output=True, text=True,
        timeout=60, check=False, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PILOTHOUSE_SECRET_KEY": "tests-only-not-a-secret",
             "DJANGO_SETTINGS_MODULE": "apiserver.settings"},
    )
    assert (result.returncode, result.stderr) == (2, 'Error: disable-admission-plugins plugin "Nope" is unknown\n')
