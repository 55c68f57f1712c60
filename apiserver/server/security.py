"""The server's security, assembled from its flags: authentication, authorization, ServiceAccount tokens, the
review APIs, RBAC escalation checks, audit and encryption at rest.

Mirrors kube-apiserver's pkg/kubeapiserver/authenticator and authorizer configuration:
- authenticators in upstream's order: front proxy (`--requestheader-*`), client certificates (`--client-ca-file`),
  then bearer tokens (`--token-auth-file`, legacy and bound ServiceAccount tokens, bootstrap tokens), with
  anonymous behind them (`--anonymous-auth`, switched off with a warning under AlwaysAllow, as upstream);
- `--authorization-mode` with `system:masters` allowed before every mode;
- ServiceAccount tokens signed with `--service-account-signing-key-file` for the first `--service-account-issuer`
  and verified with every `--service-account-key-file`; when the defaults (the generated `<data-dir>/pki/sa.*`)
  do not exist, tokens are neither issued nor accepted.

Unusable files raise SecurityConfigError with kube-apiserver's message. Cluster state is read through the
cache-backed views of `server.listers`, so nothing here touches storage.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.audit.backend import LogBackend
from apiserver.audit.policy import AuditPolicy, AuditPolicyError, load_policy_file
from apiserver.auth.authn.anonymous import AnonymousAuthenticator
from apiserver.auth.authn.bootstrap import BootstrapTokenAuthenticator
from apiserver.auth.authn.interface import Authenticator, TokenAuthenticator
from apiserver.auth.authn.requestheader import (
    RequestHeaderAuthenticator,
    RequestHeaderConfig,
    StrippedHeaders,
    headers_to_strip,
)
from apiserver.auth.authn.serviceaccount import (
    LegacyServiceAccountAuthenticator,
    ServiceAccountAuthenticator,
    bound_claims,
)
from apiserver.auth.authn.tokencache import CachedTokenAuthenticator
from apiserver.auth.authn.tokens import (
    AudienceAgnosticTokenAuthenticator,
    BearerTokenAuthenticator,
    TokenFileError,
    load_token_file,
    review_token,
)
from apiserver.auth.authn.union import RequestAuthenticator, TokenAuthenticatorUnion
from apiserver.auth.authn.x509 import CABundleError, X509Authenticator, load_ca_bundle
from apiserver.auth.authz.escalation import BINDING_RESOURCES, ROLE_RESOURCES, check_binding_write, check_role_write
from apiserver.auth.authz.interface import Attributes, AuthorizerError, Decision
from apiserver.auth.authz.union import (
    MODE_ALWAYS_ALLOW,
    UnionAuthorizer,
    UnionRuleResolver,
    authorization_modes,
    build_authorizer,
)
from apiserver.auth.jwt import (
    KeyFileError,
    PublicKeySet,
    TokenIssuer,
    discovery_jwks_uri,
    jwks,
    load_public_keys,
    load_signing_key,
    openid_configuration,
)
from apiserver.auth.user import UserInfo
from apiserver.meta.objects import JSONDict
from apiserver.registry.reviews import ReviewBackends
from apiserver.registry.stores import Registry
from apiserver.registry.tokenrequest import TokenGrant, TokenPolicy, TokenRequestStore
from apiserver.server.config import ServerConfig
from apiserver.server.listers import CachedObjectLookup, CachedRuleSource
from apiserver.storage.encryption import ResourceTransformers
from apiserver.storage.encryption_config import EncryptionConfigError, load_encryption_config

logger = logging.getLogger(__name__)


class SecurityConfigError(ValueError):
    """A security flag names a file that cannot be used; the message is kube-apiserver's start-up error."""


@dataclass(frozen=True, slots=True)
class ServiceAccountTokens:
    """Issuing and verifying ServiceAccount tokens: the issuer signs, `keys` verify (and are published)."""

    issuer: TokenIssuer | None
    keys: PublicKeySet | None
    issuers: tuple[str, ...]

    async def issue(self, grant: TokenGrant) -> str:
        """Sign a bound token for `grant` (upstream's token.Claims + GenerateToken)."""
        assert self.issuer is not None, "TokenRequest is served only with a signing key"
        claims = bound_claims(
            grant.service_account, audiences=grant.audiences, expiration_seconds=grant.expiration_seconds,
            now=grant.now, jti=str(uuid.uuid4()), pod=grant.pod, secret=grant.secret, node=grant.node,
            warn_after_seconds=grant.warn_after_seconds,
        )
        return await self.issuer.issue_async(claims)


@dataclass(frozen=True, slots=True)
class Security:
    """Everything the filter chain, the review APIs and the registry need to enforce security."""

    authenticator: RequestAuthenticator
    strip_headers: StrippedHeaders
    tokens: TokenAuthenticator
    api_audiences: tuple[str, ...]
    authorizer: UnionAuthorizer
    rules: UnionRuleResolver
    rule_source: CachedRuleSource
    service_accounts: ServiceAccountTokens
    audit_policy: AuditPolicy | None
    audit_backend: LogBackend | None
    encryption: ResourceTransformers | None

    def review_backends(self) -> ReviewBackends:
        return ReviewBackends(review_token=self.review_token, authorize=self.access_review,
                              rules=self.rules_review, user_info=_user_info)

    async def review_token(self, token: str, audiences: Sequence[str]) -> JSONDict:
        """The TokenReview status (fields in Go's order, `user` always present)."""
        result = await review_token(self.tokens, token, audiences=audiences, api_audiences=self.api_audiences)
        status: JSONDict = {"authenticated": True} if result.authenticated else {}
        status["user"] = result.user.to_dict() if result.user is not None else {}
        if result.audiences:
            status["audiences"] = list(result.audiences)
        if result.error:
            status["error"] = result.error
        return status

    async def access_review(self, user: object | None, spec: Mapping[str, Any]) -> JSONDict:
        """The SubjectAccessReview status for `spec`, asked for `user` or for the subject the spec names."""
        subject = user if isinstance(user, UserInfo) else _spec_user(spec)
        attributes = access_review_attributes(subject, spec)
        try:
            decision, reason = await self.authorizer.authorize(attributes)
            error = ""
        except AuthorizerError as failure:
            decision, reason, error = Decision.NO_OPINION, "", str(failure)
        status: JSONDict = {"allowed": decision is Decision.ALLOW}
        if decision is Decision.DENY:
            status["denied"] = True
        if reason:
            status["reason"] = reason
        if error:
            status["evaluationError"] = error
        return status

    async def rules_review(self, user: object, namespace: str) -> JSONDict:
        assert isinstance(user, UserInfo)
        return (await self.rules.rules_for(user, namespace)).to_status()

    async def check_rbac_write(self, attributes: AdmissionAttributes) -> None:
        """RBAC escalation prevention for a role or binding write (raises Forbidden or NotFound)."""
        user, new = attributes.user, attributes.object
        if not isinstance(user, UserInfo) or new is None:
            return
        request_name = attributes.name if attributes.operation is Operation.UPDATE else ""
        if attributes.resource in ROLE_RESOURCES:
            await check_role_write(
                user=user, resource=attributes.resource, namespace=attributes.namespace, request_name=request_name,
                new=new, old=attributes.old_object, authorizer=self.authorizer, rule_source=self.rule_source,
            )
        elif attributes.resource in BINDING_RESOURCES:
            await check_binding_write(
                user=user, resource=attributes.resource, namespace=attributes.namespace, new=new,
                old=attributes.old_object, authorizer=self.authorizer, rule_source=self.rule_source,
            )


def _user_info(user: object) -> JSONDict:
    assert isinstance(user, UserInfo)
    return user.to_dict()


def _spec_user(spec: Mapping[str, Any]) -> UserInfo:
    extra = spec.get("extra") or {}
    return UserInfo(name=spec.get("user") or "", uid=spec.get("uid") or "", groups=tuple(spec.get("groups") or ()),
                    extra={key: tuple(values or ()) for key, values in extra.items()})


def access_review_attributes(user: UserInfo, spec: Mapping[str, Any]) -> Attributes:
    """Upstream's AuthorizationAttributesFrom: resource attributes (an empty version matches every version) or
    non-resource attributes (path and verb)."""
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(
            user=user, verb=resource.get("verb") or "", is_resource_request=True,
            namespace=resource.get("namespace") or "", api_group=resource.get("group") or "",
            api_version=resource.get("version") or "*", resource=resource.get("resource") or "",
            subresource=resource.get("subresource") or "", name=resource.get("name") or "",
        )
    non_resource = spec.get("nonResourceAttributes") or {}
    return Attributes(user=user, verb=non_resource.get("verb") or "", path=non_resource.get("path") or "")


def build_security(config: ServerConfig, registry: Callable[[], Registry]) -> Security:
    """Load every security file and build the authenticators and authorizers. Raises SecurityConfigError."""
    lookup = CachedObjectLookup(registry)
    rule_source = CachedRuleSource(registry)
    modes = authorization_modes(",".join(config.authorization_modes))
    authorizer, rules = build_authorizer(modes, rule_source)
    service_accounts = load_service_account_keys(config)
    tokens = CachedTokenAuthenticator(_token_authenticators(config, service_accounts, lookup))
    request_header = _request_header_config(config)
    authenticators: list[Authenticator] = []
    if request_header is not None:
        authenticators.append(RequestHeaderAuthenticator(request_header))
    client_cas = _load_ca(config.client_ca_path, "client-ca-bundle") if request_header is not None else None
    authenticators.append(X509Authenticator(client_cas))
    authenticators.append(BearerTokenAuthenticator(tokens, api_audiences=config.api_audience_values))
    return Security(
        authenticator=RequestAuthenticator(authenticators, anonymous=_anonymous(config, modes)),
        strip_headers=headers_to_strip(request_header), tokens=tokens, api_audiences=config.api_audience_values,
        authorizer=authorizer, rules=rules, rule_source=rule_source, service_accounts=service_accounts,
        audit_policy=_audit_policy(config), audit_backend=_audit_backend(config),
        encryption=_encryption(config),
    )


def _anonymous(config: ServerConfig, modes: Sequence[str]) -> Authenticator | None:
    if not config.anonymous_auth:
        return None
    if MODE_ALWAYS_ALLOW in modes:
        logger.warning("AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting AnonymousAuth to "
                       "false. You should use a different authorizer")
        return None
    return AnonymousAuthenticator()


def _token_authenticators(
    config: ServerConfig, service_accounts: ServiceAccountTokens, lookup: CachedObjectLookup
) -> TokenAuthenticatorUnion:
    audiences = config.api_audience_values
    tokens: list[TokenAuthenticator] = []
    if config.token_auth_file:
        try:
            tokens.append(AudienceAgnosticTokenAuthenticator(audiences, load_token_file(Path(config.token_auth_file))))
        except TokenFileError as error:
            raise SecurityConfigError(str(error)) from None
    if (keys := service_accounts.keys) is not None:
        tokens.append(LegacyServiceAccountAuthenticator(keys, audiences, lookup,
                                                        lookup_enabled=config.service_account_lookup))
        tokens.append(ServiceAccountAuthenticator(keys, service_accounts.issuers, audiences, lookup))
    if config.enable_bootstrap_token_auth:
        tokens.append(AudienceAgnosticTokenAuthenticator(audiences, BootstrapTokenAuthenticator(lookup)))
    return TokenAuthenticatorUnion(tokens)


def load_service_account_keys(config: ServerConfig) -> ServiceAccountTokens:
    """The signing key and verification keys. Files given by flag must load; missing default files switch
    ServiceAccount tokens off (a server assembled without its generated PKI, as tests do)."""
    keys: list[Any] = []
    for path in config.service_account_key_paths:
        if not config.service_account_key_files and not path.exists():
            logger.warning("service_account_keys_missing", extra={"path": str(path)})
            continue
        try:
            keys.extend(load_public_keys(path))
        except KeyFileError as error:
            raise SecurityConfigError(str(error)) from None
    signing_path = config.service_account_signing_key_path
    issuer = None
    if config.service_account_signing_key_file or signing_path.exists():
        try:
            issuer = TokenIssuer(load_signing_key(signing_path), config.service_account_issuers[0])
        except KeyFileError as error:
            raise SecurityConfigError(str(error)) from None
    return ServiceAccountTokens(issuer, PublicKeySet(keys) if keys else None, config.service_account_issuers)


def _request_header_config(config: ServerConfig) -> RequestHeaderConfig | None:
    if not config.requestheader_client_ca_file:
        return None
    try:
        return RequestHeaderConfig(
            client_cas=tuple(_load_ca(Path(config.requestheader_client_ca_file), "request-header")),
            allowed_names=config.requestheader_allowed_names,
            username_headers=config.requestheader_username_headers,
            group_headers=config.requestheader_group_headers,
            extra_header_prefixes=config.requestheader_extra_headers_prefix,
        )
    except ValueError as error:
        raise SecurityConfigError(str(error)) from None


def _load_ca(path: Path, name: str) -> list[Any]:
    try:
        return load_ca_bundle(path, name)
    except CABundleError as error:
        raise SecurityConfigError(str(error)) from None


def _audit_policy(config: ServerConfig) -> AuditPolicy | None:
    if not config.audit_policy_file:
        return None
    try:
        return load_policy_file(config.audit_policy_file)
    except AuditPolicyError as error:
        raise SecurityConfigError(f"loading audit policy file: {error}") from None


def _audit_backend(config: ServerConfig) -> LogBackend | None:
    if not config.audit_policy_file or not config.audit_log_path:
        return None
    return LogBackend(config.audit_log_path, max_size_mb=config.audit_log_maxsize,
                      max_backups=config.audit_log_maxbackup, max_age_days=config.audit_log_maxage)


def _encryption(config: ServerConfig) -> ResourceTransformers | None:
    if not config.encryption_provider_config:
        return None
    try:
        return load_encryption_config(config.encryption_provider_config)
    except EncryptionConfigError as error:
        raise SecurityConfigError(str(error)) from None



class AuditLogService:
    """Runs the audit log writer for the life of the server (a lifecycle service)."""

    def __init__(self, backend: LogBackend) -> None:
        self._backend = backend

    async def start(self) -> None:
        await asyncio.to_thread(self._backend.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self._backend.close)


def token_request_stores(
    config: ServerConfig, security: Security, registry: Callable[[], Registry]
) -> dict[tuple[str, str, str], Callable[[str], TokenRequestStore]]:
    """The `serviceaccounts/token` subresource, served when there is a signing key (as upstream, which serves
    it only with an issuer configured)."""
    if security.service_accounts.issuer is None:
        return {}
    policy = TokenPolicy(
        api_audiences=security.api_audiences,
        max_expiration_seconds=int(config.service_account_max_token_expiration),
        extend_expiration=config.service_account_extend_token_expiration,
    )

    def store(name: str) -> TokenRequestStore:
        return TokenRequestStore(registry(), name, security.service_accounts.issue, policy)

    return {("", "serviceaccounts", "token"): store}


def service_account_discovery(
    config: ServerConfig, security: Security, external_address: str
) -> tuple[JSONDict, JSONDict] | None:
    """The OpenID configuration and key set of the ServiceAccount issuer, or None when there are no keys or the
    issuer cannot be discovered (upstream then logs why and serves neither document)."""
    keys = security.service_accounts.keys
    if keys is None:
        return None
    issuer = config.service_account_issuers[0]
    try:
        jwks_uri = discovery_jwks_uri(issuer, config.service_account_jwks_uri, external_address)
    except ValueError as error:
        logger.warning("service_account_issuer_discovery_disabled", extra={"error": str(error)})
        return None
    return openid_configuration(issuer, jwks_uri, keys), jwks(keys)
