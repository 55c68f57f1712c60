"""ServerConfig: everything the server needs to start, from the command line and Django settings.

This is the only module of the API server that reads `django.conf.settings` (DESIGN.md). `SERVE_FLAGS` is the
flag table of `manage.py serve`: a new flag is one entry here plus the field it fills in `ServerConfig`.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from apiserver.admission.chain import admission_flag_problems
from apiserver.auth.authz.union import AuthorizationModeError, authorization_modes
from apiserver.controllers.leaderelection import DEFAULT_RESOURCE_NAME, DEFAULT_RESOURCE_NAMESPACE, election_problems
from apiserver.registry.allocators.ipallocator import service_cidr_problems
from apiserver.registry.allocators.portallocator import PortRange, parse_port_range
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.runtimeconfig import read_runtime_config, validation_problems
from apiserver.server.flags import (
    BOOL,
    DURATION,
    INT,
    IP,
    MAP_STRING_STRING,
    STRING,
    STRING_ARRAY,
    STRINGS,
    Flag,
    FlagError,
    FlagKind,
    format_duration_ns,
)
from apiserver.storage.backends import STORAGE_BACKENDS

_NS = 1_000_000_000
DEFAULT_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
MAX_TOKEN_EXPIRATION_SECONDS = 1 << 32

# kubeadm's default (kube-apiserver alone falls back to 10.0.0.0/24).
DEFAULT_SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/12"
DEFAULT_SERVICE_NODE_PORT_RANGE = PortRange(30000, 2768)
PORT_RANGE = FlagKind("portRange", parse_port_range, str)

SERVE_FLAGS: tuple[Flag, ...] = (
    Flag("advertise-address", IP, "",
         "The IP address at which this server is reachable by the cluster. Empty means: the bind address, or "
         "the host's default-route interface when binding to all or loopback interfaces."),
    Flag("aggregator-availability-resync", DURATION, 30 * _NS,
         "How often the availability of each remote APIService is checked again (Pilothouse only; upstream's fixed "
         "30s resync)."),
    Flag("aggregator-reject-forwarding-redirect", BOOL, True,
         "Aggregator reject forwarding redirect response back to client."),
    Flag("anonymous-auth", BOOL, True,
         "Enables anonymous requests to the secure port. Requests that are not rejected by another authentication "
         "method are treated as anonymous requests: username system:anonymous, group system:unauthenticated."),
    Flag("api-audiences", STRINGS, (),
         "Identifiers of the API. The service account token authenticator validates that tokens used against the "
         "API are bound to at least one of these audiences. Empty means the --service-account-issuer values."),
    Flag("audit-log-maxage", INT, 0,
         "The maximum number of days to retain old audit log files based on the timestamp encoded in their "
         "filename."),
    Flag("audit-log-maxbackup", INT, 0, "The maximum number of old audit log files to retain. 0 means no limit."),
    Flag("audit-log-maxsize", INT, 0,
         "The maximum size in megabytes of the audit log file before it gets rotated (0: 100)."),
    Flag("audit-log-path", STRING, "",
         "If set, all requests coming to the apiserver will be logged to this file. '-' means standard out."),
    Flag("audit-policy-file", STRING, "", "Path to the file that defines the audit policy configuration."),
    # Upstream defaults to AlwaysAllow; the issue asks for RBAC by default, so a fresh server is not wide open.
    Flag("authorization-mode", STRINGS, ("RBAC",),
         "Ordered list of plug-ins to do authorization on secure port: AlwaysAllow, AlwaysDeny, RBAC."),
    Flag("bind-address", IP, "0.0.0.0",
         "The IP address to listen on for --secure-port. 0.0.0.0 means all IPv4 interfaces, :: all interfaces."),
    Flag("client-ca-file", STRING, "",
         "A PEM bundle of CAs; a client certificate signed by one of them authenticates its CommonName as the "
         "user and its Organizations as groups. Empty means <data-dir>/pki/ca.crt."),
    Flag("data-dir", STRING, "var",
         "The directory for the embedded store, the generated PKI, the admin kubeconfig and the console "
         "database (Pilothouse only)."),
    Flag("enable-aggregator-routing", BOOL, False,
         "Turns on aggregator routing requests to endpoints IP rather than cluster IP."),
    Flag("enable-bootstrap-token-auth", BOOL, False,
         "Enable to allow secrets of type 'bootstrap.kubernetes.io/token' in the 'kube-system' namespace to be "
         "used for TLS bootstrapping authentication."),
    Flag("admission-control-config-file", STRING, "", "File with admission control configuration."),
    Flag("disable-admission-plugins", STRINGS, (),
         "admission plugins that should be disabled although they are in the default enabled plugins list. "
         "Comma-delimited list of admission plugins. The order of plugins in this flag does not matter."),
    Flag("enable-admission-plugins", STRINGS, (),
         "admission plugins that should be enabled in addition to default enabled ones. Comma-delimited list of "
         "admission plugins. The order of plugins in this flag does not matter."),
    Flag("enable-priority-and-fairness", BOOL, True,
         "If true, replace the max-in-flight handler with an enhanced one that queues and dispatches with "
         "priority and fairness"),
    Flag("encryption-provider-config", STRING, "",
         "The file containing configuration for encryption providers to be used for storing secrets in etcd."),
    Flag("etcd-cafile", STRING, "", "The CA bundle that verifies etcd's serving certificates."),
    Flag("etcd-certfile", STRING, "", "The client certificate presented to etcd."),
    Flag("etcd-compaction-interval", DURATION, 5 * 60 * _NS,
         "How often storage history is compacted; 0 disables compaction. Applies to every storage backend."),
    Flag("etcd-keyfile", STRING, "", "The private key of --etcd-certfile."),
    Flag("etcd-prefix", STRING, "/registry", "The prefix of every key written to storage."),
    Flag("etcd-servers", STRINGS, (), "The etcd servers to connect to (scheme://ip:port), comma separated."),
    Flag("hostname-override", STRING, "",
         "If non-empty, will use this string as identification instead of the actual hostname: in the name and "
         "labels of this server's identity Lease and in its leader-election holderIdentity (Pilothouse only; lets "
         "several replicas share one host)."),
    Flag("leader-elect", BOOL, True,
         "Start a leader election client and gain leadership before executing the main loop. Enable this when "
         "running replicated components for high availability."),
    Flag("leader-elect-lease-duration", DURATION, 15 * _NS,
         "The duration that non-leader candidates will wait after observing a leadership renewal until attempting "
         "to acquire leadership of a led but unrenewed leader slot. This is effectively the maximum duration that a "
         "leader can be stopped before it is replaced by another candidate. This is only applicable if leader "
         "election is enabled."),
    Flag("leader-elect-renew-deadline", DURATION, 10 * _NS,
         "The interval between attempts by the acting master to renew a leadership slot before it stops leading. "
         "This must be less than the lease duration. This is only applicable if leader election is enabled."),
    Flag("leader-elect-resource-name", STRING, DEFAULT_RESOURCE_NAME,
         "The name of resource object that is used for locking during leader election."),
    Flag("leader-elect-resource-namespace", STRING, DEFAULT_RESOURCE_NAMESPACE,
         "The namespace of resource object that is used for locking during leader election."),
    Flag("leader-elect-retry-period", DURATION, 2 * _NS,
         "The duration the clients should wait between attempting acquisition and renewal of a leadership. This is "
         "only applicable if leader election is enabled."),
    Flag("livez-grace-period", DURATION, 0,
         "For this long after start, /livez reports unfinished post-start hooks as passing."),
    Flag("max-mutating-requests-inflight", INT, 200,
         "The maximum number of mutating requests in flight at a given time. When the server exceeds this, it "
         "rejects requests. Zero for no limit."),
    Flag("max-requests-inflight", INT, 400,
         "The maximum number of non-mutating requests in flight at a given time. When the server exceeds this, "
         "it rejects requests. Zero for no limit."),
    Flag("proxy-client-cert-file", STRING, "",
         "Client certificate used to prove the identity of the aggregator or kube-apiserver when it must call out "
         "during a request (proxying to extension API servers). Empty means <data-dir>/pki/front-proxy-client.crt."),
    Flag("proxy-client-key-file", STRING, "",
         "Private key for the client certificate used to prove the identity of the aggregator or kube-apiserver "
         "when it must call out during a request. Empty means <data-dir>/pki/front-proxy-client.key."),
    Flag("proxy-allow-loopback-targets", BOOL, False,
         "Testing only: lets pods/proxy, services/proxy and nodes/proxy reach loopback addresses, which are "
         "otherwise refused as kube-apiserver refuses them (Pilothouse only)."),
    Flag("request-timeout", DURATION, 60 * _NS,
         "The longest a non-long-running request may take; also how long shutdown waits for in-flight requests."),
    Flag("requestheader-allowed-names", STRINGS, (),
         "List of client certificate common names to allow to provide usernames in headers specified by "
         "--requestheader-username-headers. If empty, any client certificate validated by the authorities in "
         "--requestheader-client-ca-file is allowed."),
    Flag("requestheader-client-ca-file", STRING, "",
         "Root certificate bundle to use to verify client certificates on incoming requests before trusting "
         "usernames in headers specified by --requestheader-username-headers."),
    Flag("requestheader-extra-headers-prefix", STRINGS, (),
         "List of request header prefixes to inspect. X-Remote-Extra- is suggested."),
    Flag("requestheader-group-headers", STRINGS, (),
         "List of request headers to inspect for groups. X-Remote-Group is suggested."),
    Flag("requestheader-username-headers", STRINGS, (),
         "List of request headers to inspect for usernames. X-Remote-User is common."),
    Flag("runtime-config", MAP_STRING_STRING, (),
         "A set of key=value pairs that enable or disable built-in APIs: api/all, api/ga, api/beta, api/alpha, "
         "<group>/<version> (/v1 for the core group) or <group>/<version>/<resource>, each =true or =false."),
    Flag("secure-port", INT, 6443, "The port on which to serve HTTPS with authentication and authorization."),
    Flag("service-account-extend-token-expiration", BOOL, True,
         "Turns on projected service account expiration extension during token generation."),
    Flag("service-account-issuer", STRING_ARRAY, (DEFAULT_SERVICE_ACCOUNT_ISSUER,),
         "Identifier of the service account token issuer. The first value issues tokens; every value is accepted. "
         "May be repeated."),
    Flag("service-account-jwks-uri", STRING, "",
         "Overrides the URI for the JSON Web Key Set in the discovery doc served at "
         "/.well-known/openid-configuration."),
    Flag("service-account-key-file", STRING_ARRAY, (),
         "File containing PEM-encoded public RSA or ECDSA keys used to verify ServiceAccount tokens. May be "
         "repeated. Empty means <data-dir>/pki/sa.pub."),
    Flag("service-account-lookup", BOOL, True,
         "If true, validate ServiceAccount tokens exist in etcd as part of authentication."),
    Flag("service-account-max-token-expiration", DURATION, 0,
         "The maximum validity duration of a token created by the service account token issuer."),
    Flag("service-account-signing-key-file", STRING, "",
         "Path to the file that contains the current private key of the service account token issuer. Empty "
         "means <data-dir>/pki/sa.key."),
    Flag("service-cluster-ip-range", STRING, DEFAULT_SERVICE_CLUSTER_IP_RANGE,
         "A CIDR notation IP range from which to assign service cluster IPs. This must not overlap with any IP "
         "ranges assigned to nodes or pods. Max of two dual-stack CIDRs is allowed."),
    Flag("service-node-port-range", PORT_RANGE, DEFAULT_SERVICE_NODE_PORT_RANGE,
         "A port range to reserve for services with NodePort visibility.  This must not overlap with the ephemeral "
         "port range on nodes.  Example: '30000-32767'. Inclusive at both ends of the range."),
    Flag("shutdown-delay-duration", DURATION, 0,
         "After a termination signal, keep serving this long with /readyz failing before the listener closes, "
         "so load balancers can take the server out of rotation."),
    Flag("storage-backend", STRING, "sqlite",
         "The storage backend: sqlite (embedded, at <data-dir>/state.db; Pilothouse only) or etcd3."),
    Flag("tls-cert-file", STRING, "",
         "The serving certificate (PEM, with intermediates after it). Empty means the certificate generated "
         "into <data-dir>/pki."),
    Flag("tls-private-key-file", STRING, "", "The private key of --tls-cert-file."),
    Flag("token-auth-file", STRING, "",
         "If set, the file that will be used to secure the secure port of the API server via token "
         "authentication."),
)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything `build_server` and `manage.py serve` need. Durations are in seconds."""

    data_dir: Path
    secure_port: int = 6443
    bind_address: str = "0.0.0.0"
    advertise_address: str = "127.0.0.1"
    storage_backend: str = "sqlite"
    etcd_servers: tuple[str, ...] = ()
    etcd_prefix: str = "/registry"
    etcd_cafile: str = ""
    etcd_certfile: str = ""
    etcd_keyfile: str = ""
    etcd_compaction_interval: float = 300.0
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    client_ca_file: str = ""
    livez_grace_period: float = 0.0
    shutdown_delay_duration: float = 0.0
    request_timeout: float = 60.0
    storage_start_timeout: float = 60.0
    runtime_config: tuple[str, ...] = ()
    anonymous_auth: bool = True
    token_auth_file: str = ""
    enable_bootstrap_token_auth: bool = False
    service_account_key_files: tuple[str, ...] = ()
    service_account_signing_key_file: str = ""
    service_account_issuers: tuple[str, ...] = (DEFAULT_SERVICE_ACCOUNT_ISSUER,)
    service_account_jwks_uri: str = ""
    service_account_max_token_expiration: float = 0.0
    service_account_extend_token_expiration: bool = True
    service_account_lookup: bool = True
    api_audiences: tuple[str, ...] = ()
    requestheader_client_ca_file: str = ""
    requestheader_allowed_names: tuple[str, ...] = ()
    requestheader_username_headers: tuple[str, ...] = ()
    requestheader_group_headers: tuple[str, ...] = ()
    requestheader_extra_headers_prefix: tuple[str, ...] = ()
    authorization_modes: tuple[str, ...] = ("RBAC",)
    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200
    enable_priority_and_fairness: bool = True
    audit_policy_file: str = ""
    audit_log_path: str = ""
    audit_log_maxage: int = 0
    audit_log_maxbackup: int = 0
    audit_log_maxsize: int = 0
    encryption_provider_config: str = ""
    service_cluster_ip_range: str = DEFAULT_SERVICE_CLUSTER_IP_RANGE
    service_node_port_range: PortRange = DEFAULT_SERVICE_NODE_PORT_RANGE
    enable_admission_plugins: tuple[str, ...] = ()
    disable_admission_plugins: tuple[str, ...] = ()
    admission_control_config_file: str = ""
    proxy_client_cert_file: str = ""
    proxy_client_key_file: str = ""
    enable_aggregator_routing: bool = False
    aggregator_reject_forwarding_redirect: bool = True
    aggregator_availability_resync: float = 30.0
    proxy_allow_loopback_targets: bool = False
    hostname_override: str = ""
    leader_elect: bool = True
    leader_elect_lease_duration: float = 15.0
    leader_elect_renew_deadline: float = 10.0
    leader_elect_retry_period: float = 2.0
    leader_elect_resource_name: str = DEFAULT_RESOURCE_NAME
    leader_elect_resource_namespace: str = DEFAULT_RESOURCE_NAMESPACE

    @classmethod
    def from_flags(cls, values: Mapping[str, object]) -> ServerConfig:
        """Validate parsed `SERVE_FLAGS` values and combine them with settings.

        Raises FlagError with kube-apiserver's validation wording.
        """
        _validate(values)
        bind_address = str(values["bind_address"])
        return cls(
            data_dir=Path(str(values["data_dir"])),
            secure_port=int(values["secure_port"]),  # type: ignore[call-overload]
            bind_address=bind_address,
            advertise_address=str(values["advertise_address"]) or default_advertise_address(bind_address),
            storage_backend=str(values["storage_backend"]),
            etcd_servers=_strings(values["etcd_servers"]),
            etcd_prefix=str(values["etcd_prefix"]),
            etcd_cafile=str(values["etcd_cafile"]),
            etcd_certfile=str(values["etcd_certfile"]),
            etcd_keyfile=str(values["etcd_keyfile"]),
            etcd_compaction_interval=_seconds(values["etcd_compaction_interval"]),
            tls_cert_file=str(values["tls_cert_file"]),
            tls_private_key_file=str(values["tls_private_key_file"]),
            client_ca_file=str(values["client_ca_file"]),
            livez_grace_period=_seconds(values["livez_grace_period"]),
            shutdown_delay_duration=_seconds(values["shutdown_delay_duration"]),
            request_timeout=_seconds(values["request_timeout"]),
            storage_start_timeout=float(settings.STORAGE_START_TIMEOUT),
            runtime_config=_strings(values["runtime_config"]),
            service_cluster_ip_range=str(values["service_cluster_ip_range"]),
            service_node_port_range=values["service_node_port_range"],  # type: ignore[arg-type]
            enable_admission_plugins=_strings(values["enable_admission_plugins"]),
            disable_admission_plugins=_strings(values["disable_admission_plugins"]),
            admission_control_config_file=str(values["admission_control_config_file"]),
            proxy_client_cert_file=str(values["proxy_client_cert_file"]),
            proxy_client_key_file=str(values["proxy_client_key_file"]),
            enable_aggregator_routing=bool(values["enable_aggregator_routing"]),
            aggregator_reject_forwarding_redirect=bool(values["aggregator_reject_forwarding_redirect"]),
            aggregator_availability_resync=_seconds(values["aggregator_availability_resync"]),
            proxy_allow_loopback_targets=bool(values["proxy_allow_loopback_targets"]),
            **_security_values(values),
            **_leader_election_values(values),
        )

    @property
    def hostname(self) -> str:
        """--hostname-override, else the host's name (Go's os.Hostname)."""
        return self.hostname_override or socket.gethostname()

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def service_account_key_paths(self) -> tuple[Path, ...]:
        """Every `--service-account-key-file`; the generated `sa.pub` when none is given."""
        return tuple(map(Path, self.service_account_key_files)) or (self.pki_dir / "sa.pub",)

    @property
    def service_account_signing_key_path(self) -> Path:
        return Path(self.service_account_signing_key_file or self.pki_dir / "sa.key")

    @property
    def api_audience_values(self) -> tuple[str, ...]:
        """`--api-audiences`, defaulting to the ServiceAccount issuers as kube-apiserver does."""
        return self.api_audiences or self.service_account_issuers

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "state.db"

    @property
    def console_database(self) -> Path:
        return Path(settings.DATABASES["default"]["NAME"])

    @property
    def serving_cert_file(self) -> Path:
        return Path(self.tls_cert_file) if self.tls_cert_file else self.pki_dir / "apiserver.crt"

    @property
    def serving_key_file(self) -> Path:
        return Path(self.tls_private_key_file) if self.tls_private_key_file else self.pki_dir / "apiserver.key"

    @property
    def proxy_client_cert_path(self) -> Path:
        """The aggregator's client certificate (--proxy-client-cert-file, kubeadm's generated one by default)."""
        return Path(self.proxy_client_cert_file or self.pki_dir / "front-proxy-client.crt")

    @property
    def proxy_client_key_path(self) -> Path:
        return Path(self.proxy_client_key_file or self.pki_dir / "front-proxy-client.key")

    @property
    def client_ca_path(self) -> Path:
        return Path(self.client_ca_file) if self.client_ca_file else self.pki_dir / "ca.crt"

    @property
    def local_host(self) -> str:
        """The host clients on this machine use: loopback when bound to loopback or everything."""
        address = ipaddress.ip_address(self.bind_address)
        if address.is_unspecified or address.is_loopback:
            return "127.0.0.1" if address.version == 4 else "::1"
        return self.advertise_address

    @property
    def url(self) -> str:
        host = self.local_host
        return f"https://{f'[{host}]' if ':' in host else host}:{self.secure_port}"


def _security_values(values: Mapping[str, object]) -> dict[str, Any]:
    """The authentication, authorization, audit and encryption fields of ServerConfig from their flags."""
    return {
        "anonymous_auth": bool(values["anonymous_auth"]),
        "token_auth_file": str(values["token_auth_file"]),
        "enable_bootstrap_token_auth": bool(values["enable_bootstrap_token_auth"]),
        "service_account_key_files": _strings(values["service_account_key_file"]),
        "service_account_signing_key_file": str(values["service_account_signing_key_file"]),
        "service_account_issuers": _strings(values["service_account_issuer"]),
        "service_account_jwks_uri": str(values["service_account_jwks_uri"]),
        "service_account_max_token_expiration": _seconds(values["service_account_max_token_expiration"]),
        "service_account_extend_token_expiration": bool(values["service_account_extend_token_expiration"]),
        "service_account_lookup": bool(values["service_account_lookup"]),
        "api_audiences": _strings(values["api_audiences"]),
        "requestheader_client_ca_file": str(values["requestheader_client_ca_file"]),
        **{name: _strings(values[name]) for name in _REQUEST_HEADER_LISTS},
        "authorization_modes": _strings(values["authorization_mode"]),
        "enable_priority_and_fairness": bool(values["enable_priority_and_fairness"]),
        **{name: _int(values[name]) for name in _COUNTS},
        **{name: str(values[name]) for name in ("audit_policy_file", "audit_log_path", "encryption_provider_config")},
    }


def _leader_election_values(values: Mapping[str, object]) -> dict[str, Any]:
    """The `--leader-elect*` fields (kube-controller-manager's flags) and --hostname-override."""
    return {
        "hostname_override": str(values["hostname_override"]),
        "leader_elect": bool(values["leader_elect"]),
        **{name: _seconds(values[name]) for name in (
            "leader_elect_lease_duration", "leader_elect_renew_deadline", "leader_elect_retry_period")},
        **{name: str(values[name]) for name in ("leader_elect_resource_name", "leader_elect_resource_namespace")},
    }


_REQUEST_HEADER_LISTS = (
    "requestheader_allowed_names", "requestheader_username_headers", "requestheader_group_headers",
    "requestheader_extra_headers_prefix",
)
_COUNTS = (
    "max_requests_inflight", "max_mutating_requests_inflight", "audit_log_maxage", "audit_log_maxbackup",
    "audit_log_maxsize",
)


def _strings(value: object) -> tuple[str, ...]:
    assert isinstance(value, tuple)
    return tuple(str(item) for item in value)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _seconds(nanoseconds: object) -> float:
    assert isinstance(nanoseconds, int)
    return nanoseconds / _NS


def _validate(values: Mapping[str, object]) -> None:
    problems = [message for message in _problems(values) if message]
    if len(problems) == 1:
        raise FlagError(problems[0])
    if problems:
        raise FlagError("[" + ", ".join(problems) + "]")  # Kubernetes' error aggregate


def _problems(values: Mapping[str, object]) -> list[str]:
    port = values["secure_port"]
    backend = values["storage_backend"]
    allowed = ", ".join(sorted(STORAGE_BACKENDS))
    problems = [
        f"--secure-port {port} must be between 1 and 65535, inclusive. It cannot be turned off with 0"
        if not 1 <= int(port) <= 65535 else "",  # type: ignore[call-overload]
        f"--storage-backend invalid, allowed values: {allowed}. If not specified, it will default to 'sqlite'"
        if backend not in STORAGE_BACKENDS else "",
        "--etcd-servers must be specified" if backend == "etcd3" and not values["etcd_servers"] else "",
        "--tls-cert-file and --tls-private-key-file must be given together"
        if bool(values["tls_cert_file"]) != bool(values["tls_private_key_file"]) else "",
        "--data-dir must not be empty" if not values["data_dir"] else "",
    ]
    for name, message in NON_NEGATIVE_DURATIONS.items():
        if int(values[name]) < 0:  # type: ignore[call-overload]
            problems.append(message)
    problems.extend(_security_problems(values))
    if values["leader_elect"]:
        problems.extend(election_problems(*(_seconds(values[f"leader_elect_{name}"])
                                            for name in ("lease_duration", "renew_deadline", "retry_period"))))
    problems.extend(service_cidr_problems(str(values["service_cluster_ip_range"])))
    problems.extend(admission_flag_problems(_strings(values["enable_admission_plugins"]),
                                            _strings(values["disable_admission_plugins"])))
    runtime_config = read_runtime_config(*values["runtime_config"])  # type: ignore[misc]
    problems.extend(validation_problems(runtime_config, ResourceCatalog(builtin_specs())))
    return problems


def _security_problems(values: Mapping[str, object]) -> list[str]:
    """kube-apiserver's validation of the authentication, authorization, in-flight and audit flags."""
    problems = [message for name, message in NON_NEGATIVE_COUNTS.items() if _int(values[name]) < 0]
    problems += [f"--{flag.replace('_', '-')} {values[flag]} can't be a negative number"
                 for flag in ("audit_log_maxage", "audit_log_maxbackup", "audit_log_maxsize")
                 if _int(values[flag]) < 0]
    maximum = _int(values["service_account_max_token_expiration"]) // _NS
    if maximum and not 3600 <= maximum <= MAX_TOKEN_EXPIRATION_SECONDS:
        problems.append("the service-account-max-token-expiration must be between 1 hour and 2^32 seconds")
    issuers = _strings(values["service_account_issuer"])
    if not issuers or any(not issuer for issuer in issuers):
        problems.append("service-account-issuer is a required flag")
    try:
        authorization_modes(",".join(_strings(values["authorization_mode"])))
    except AuthorizationModeError as error:
        problems.extend(error.errors)
    return problems


NON_NEGATIVE_COUNTS = {
    "max_requests_inflight": "--max-requests-inflight can not be negative value",
    "max_mutating_requests_inflight": "--max-mutating-requests-inflight can not be negative value",
}

# kube-apiserver's wording, one message per flag (they differ by an article).
NON_NEGATIVE_DURATIONS = {
    "livez_grace_period": "--livez-grace-period can not be a negative value",
    "shutdown_delay_duration": "--shutdown-delay-duration can not be negative value",
    "request_timeout": "--request-timeout can not be negative value",
}


def default_advertise_address(bind_address: str) -> str:
    """kube-apiserver's rule: the bind address itself, unless it is unspecified or loopback; then the address
    of the interface holding the default route, or loopback when the host has none."""
    address = ipaddress.ip_address(bind_address)
    if not (address.is_unspecified or address.is_loopback):
        return bind_address
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    probe = "2001:db8::1" if address.version == 6 else "192.0.2.1"  # documentation ranges; nothing is sent
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((probe, 9))
            chosen = str(sock.getsockname()[0])
    except OSError:
        return "127.0.0.1" if address.version == 4 else "::1"
    return chosen


def describe_duration(seconds: float) -> str:
    """A duration as kube-apiserver prints it ("5m0s")."""
    return format_duration_ns(round(seconds * _NS))
