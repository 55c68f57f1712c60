"""ServerConfig: flag values validated and turned into the server's configuration."""
from __future__ import annotations

from pathlib import Path

import pytest

from apiserver.server.config import SERVE_FLAGS, ServerConfig, default_advertise_address
from apiserver.server.flags import FlagError, parse_flags


def config_from(*args: str) -> ServerConfig:
    return ServerConfig.from_flags(parse_flags(SERVE_FLAGS, list(args), command="serve"))


def test_defaults_match_kube_apiserver_and_ours() -> None:
    config = config_from()
    assert (config.secure_port, config.bind_address, config.storage_backend, config.etcd_prefix) == (
        6443, "0.0.0.0", "sqlite", "/registry"
    )
    assert (config.etcd_compaction_interval, config.livez_grace_period, config.shutdown_delay_duration) == (
        300.0, 0.0, 0.0
    )
    assert config.data_dir == Path("var")
    assert config.sqlite_path == Path("var/state.db")
    assert config.url == "https://127.0.0.1:6443"


def test_generated_pki_serves_unless_files_are_given() -> None:
    generated = config_from("--data-dir", "/d")
    given = config_from("--data-dir", "/d", "--tls-cert-file", "/c.crt", "--tls-private-key-file", "/c.key",
                        "--client-ca-file", "/ca.crt")
    assert (generated.serving_cert_file, generated.serving_key_file, generated.client_ca_path) == (
        Path("/d/pki/apiserver.crt"), Path("/d/pki/apiserver.key"), Path("/d/pki/ca.crt")
    )
    assert (given.serving_cert_file, given.serving_key_file, given.client_ca_path) == (
        Path("/c.crt"), Path("/c.key"), Path("/ca.crt")
    )


def test_durations_become_seconds() -> None:
    config = config_from("--etcd-compaction-interval", "1m30s", "--shutdown-delay-duration=300ms")
    assert (config.etcd_compaction_interval, config.shutdown_delay_duration) == (90.0, 0.3)


def test_advertise_address_defaults_to_a_specific_bind_address() -> None:
    assert config_from("--bind-address", "192.0.2.7").advertise_address == "192.0.2.7"
    assert default_advertise_address("192.0.2.7") == "192.0.2.7"


def test_advertise_address_for_loopback_or_any_is_a_host_address() -> None:
    chosen = default_advertise_address("0.0.0.0")
    assert chosen == default_advertise_address("127.0.0.1")
    assert chosen.count(".") == 3


def test_url_uses_the_advertise_address_when_bound_to_one_interface() -> None:
    assert config_from("--bind-address", "192.0.2.7", "--secure-port", "7443").url == "https://192.0.2.7:7443"
    assert config_from("--bind-address", "127.0.0.1", "--advertise-address", "192.0.2.9").url == (
        "https://127.0.0.1:6443"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--secure-port", "0"],
         "--secure-port 0 must be between 1 and 65535, inclusive. It cannot be turned off with 0"),
        (["--storage-backend", "etcd2"],
         "--storage-backend invalid, allowed values: etcd3, memory, sqlite. "
         "If not specified, it will default to 'sqlite'"),
        (["--storage-backend", "etcd3"], "--etcd-servers must be specified"),
        (["--tls-cert-file", "x.crt"], "--tls-cert-file and --tls-private-key-file must be given together"),
        (["--shutdown-delay-duration", "-1s"], "--shutdown-delay-duration can not be negative value"),
        (["--livez-grace-period", "-1s"], "--livez-grace-period can not be a negative value"),
        (["--secure-port", "0", "--livez-grace-period", "-1s"],
         "[--secure-port 0 must be between 1 and 65535, inclusive. It cannot be turned off with 0, "
         "--livez-grace-period can not be a negative value]"),
    ],
)
def test_invalid_combinations_fail_with_upstream_wording(args: list[str], message: str) -> None:
    with pytest.raises(FlagError) as caught:
        config_from(*args)
    assert str(caught.value) == message
