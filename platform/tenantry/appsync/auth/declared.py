"""An API's authenticator, built from the auth modes its `GraphQLApi` declares.

The declaration (pulumi-aws inputs, as the mock runtime records them) names the default mode
(`authenticationType` + `userPoolConfig` / `openidConnectConfig`) and the
`additionalAuthenticationProviders`; each becomes one mode authenticator, the default first.
Nothing is assumed: an API that declares no API key refuses every `x-api-key`.

User pools live in the embedded emulator, whose ids differ from the declared (mock) ones:
`pools` maps each declared pool id to the emulator's pool. Their tokens name the AWS issuer
(`https://cognito-idp.<region>.amazonaws.com/<pool id>`), whose JWKS the emulator serves at
`<emulator>/<pool id>/.well-known/jwks.json`; any other issuer (an OIDC provider) is asked over
HTTP for its discovery document and the `jwks_uri` in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import aiohttp

from tenantry.appsync.auth import (
    API_KEY,
    AWS_IAM,
    OIDC,
    USER_POOLS,
    Authenticator,
    ModeAuthenticator,
)
from tenantry.appsync.auth.api_key import ApiKeyAuthenticator
from tenantry.appsync.auth.iam import SigV4Authenticator
from tenantry.appsync.auth.jwt import (
    JwksSource,
    JwtAuthenticator,
    TokenRules,
    client_regex,
)
from tenantry.components.naming import issuer_url

FETCH_TIMEOUT_S = 5.0


class UnsupportedAuthModeError(Exception):
    def __init__(self, tenant: str, mode: str) -> None:
        super().__init__(f"{tenant}: the local platform does not emulate AppSync auth mode {mode}")
        self.tenant = tenant
        self.mode = mode


@dataclass(frozen=True)
class DeclaredMode:
    """One auth provider as the GraphQLApi declares it."""
    mode: str
    user_pool_id: str | None = None        # declared id (USER_POOLS)
    region: str | None = None
    app_id_client_regex: str | None = None
    issuer: str | None = None              # OIDC
    client_id: str | None = None           # OIDC (a regex, as AppSync reads it)
    iat_ttl_ms: int | None = None
    auth_ttl_ms: int | None = None


@dataclass(frozen=True)
class LocalPool:
    """A declared user pool as the emulator holds it."""
    pool_id: str
    region: str
    client_ids: frozenset[str]

    @property
    def issuer(self) -> str:
        return issuer_url(self.region, self.pool_id)


def declared_modes(api_inputs: Mapping[str, Any]) -> tuple[DeclaredMode, ...]:
    """The default mode first, then the additional providers, in declaration order."""
    providers = [api_inputs, *(api_inputs.get("additionalAuthenticationProviders") or ())]
    return tuple(_mode(p) for p in providers)


def _mode(provider: Mapping[str, Any]) -> DeclaredMode:
    pool = provider.get("userPoolConfig") or {}
    oidc = provider.get("openidConnectConfig") or {}
    return DeclaredMode(
        mode=str(provider["authenticationType"]), user_pool_id=pool.get("userPoolId"),
        region=pool.get("awsRegion"), app_id_client_regex=pool.get("appIdClientRegex"),
        issuer=oidc.get("issuer"), client_id=oidc.get("clientId"),
        iat_ttl_ms=oidc.get("iatTtl"), auth_ttl_ms=oidc.get("authTtl"))


@dataclass
class AuthWiring:
    """What building the authenticators needs from the running platform."""
    tenant: str
    pools: Mapping[str, LocalPool]         # declared pool id -> emulator pool
    emulator_url: str
    api_key: Callable[[], str]             # issues the API key, if the API declares that mode


def build_authenticator(modes: tuple[DeclaredMode, ...], wiring: AuthWiring) -> tuple[Authenticator, str | None]:
    """The API's authenticator and, if it declares API_KEY, the key issued for this run."""
    source = JwksSource(fetch_json, _jwks_url_for(wiring))
    built: list[ModeAuthenticator] = []
    api_key = None
    for declared in modes:
        if declared.mode == API_KEY:
            api_key = wiring.api_key()
            built.append(ApiKeyAuthenticator(wiring.tenant, api_key))
        elif declared.mode == AWS_IAM:
            built.append(SigV4Authenticator(wiring.tenant))
        elif declared.mode in (USER_POOLS, OIDC):
            built.append(JwtAuthenticator(wiring.tenant, _rules(declared, wiring), source))
        else:
            raise UnsupportedAuthModeError(wiring.tenant, declared.mode)
    return Authenticator(wiring.tenant, tuple(built)), api_key


def _rules(declared: DeclaredMode, wiring: AuthWiring) -> TokenRules:
    if declared.mode == OIDC:
        return TokenRules(OIDC, str(declared.issuer), client_regex(declared.client_id),
                          _seconds(declared.iat_ttl_ms), _seconds(declared.auth_ttl_ms))
    pool = wiring.pools.get(str(declared.user_pool_id))
    if pool is None:
        raise UnsupportedAuthModeError(wiring.tenant, f"{USER_POOLS} on an undeclared pool "
                                                      f"{declared.user_pool_id!r}")
    regex = client_regex(declared.app_id_client_regex)
    return TokenRules(USER_POOLS, pool.issuer,
                      lambda client_id: client_id in pool.client_ids and regex(client_id))


def _seconds(ms: int | None) -> float | None:
    return ms / 1000 if ms else None


def _jwks_url_for(wiring: AuthWiring) -> Callable[[str], Any]:
    local = {pool.issuer: f"{wiring.emulator_url}/{pool.pool_id}/.well-known/jwks.json"
             for pool in wiring.pools.values()}

    async def jwks_url(issuer: str) -> str:
        if issuer in local:
            return local[issuer]
        discovery = await fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        return str(discovery["jwks_uri"])
    return jwks_url


async def fetch_json(url: str) -> dict:
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(url) as response:
            response.raise_for_status()
            return await response.json(content_type=None)
