"""AMAZON_COGNITO_USER_POOLS and OPENID_CONNECT modes: a JWT in `Authorization`, as AppSync takes it.

AppSync reads the raw token (no `Bearer ` prefix: with one it answers "Unable to parse JWT
token.") and accepts it only if all of these hold (joserfc does the JOSE part, nothing here
touches the crypto):
- the signature is RS256 and verifies against a key of the issuer's JWKS (`alg: none`, HS256
  signed with the public key, an unknown `kid` or a tampered payload all fail here);
- `iss` is the declared issuer: the user pool's `https://cognito-idp.<region>.amazonaws.com/<id>`,
  or the OIDC provider's issuer URL (so another pool's or tenant's token fails even when signed
  with the same key, as moto signs every pool's tokens);
- `exp` is in the future; for OIDC, `iat` and `auth_time` within the declared iatTTL / authTTL;
- user pools: `token_use` is `id` or `access` (both are accepted) and the client id (`aud` of an
  ID token, `client_id` of an access token) is a client of the pool matching `appIdClientRegex`
  if declared; OIDC: `aud` (or `client_id`) matches the declared client id regex, if declared.

Keys are fetched once per issuer and cached (refetched at most every `REFRESH_S` when a token
names a `kid` the cache does not hold: key rotation). Where the JWKS comes from is the
`JwksSource`'s business: over HTTP from the issuer, or from the embedded emulator for the user
pools it holds (`tenantry.appsync.auth.declared`).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from tenantry.appsync.auth import (
    NOT_AUTHORIZED,
    OIDC,
    USER_POOLS,
    Caller,
    SignedRequest,
    UnauthorizedError,
)

ALGORITHMS = ("RS256",)
UNPARSABLE = "Unable to parse JWT token."
EXPIRED = "Token has expired."
REFRESH_S = 60.0
TOKEN_USES = ("id", "access")

FetchJson = Callable[[str], Awaitable[dict]]


class JwksSource:
    """The issuer's key set, fetched with `fetch` from `jwks_url(issuer)` and cached."""

    def __init__(self, fetch: FetchJson, jwks_url: Callable[[str], Awaitable[str]]) -> None:
        self._fetch = fetch
        self._jwks_url = jwks_url
        self._keys: dict[str, tuple[KeySet, float]] = {}
        self._lock = asyncio.Lock()

    async def keys(self, issuer: str, kid: str | None) -> KeySet:
        cached = self._keys.get(issuer)
        if cached is not None and (_holds(cached[0], kid) or time.monotonic() - cached[1] < REFRESH_S):
            return cached[0]
        async with self._lock:
            cached = self._keys.get(issuer)
            if cached is None or (not _holds(cached[0], kid) and time.monotonic() - cached[1] >= REFRESH_S):
                document = await self._fetch(await self._jwks_url(issuer))
                cached = self._keys[issuer] = (KeySet.import_key_set(document), time.monotonic())
        return cached[0]


def _holds(keys: KeySet, kid: str | None) -> bool:
    return any(key.kid == kid for key in keys.keys)


@dataclass(frozen=True)
class TokenRules:
    """What one declared provider accepts."""
    mode: str                              # USER_POOLS | OIDC
    issuer: str
    client_ids: Callable[[str], bool]      # is this client id acceptable?
    iat_ttl_s: float | None = None         # OIDC iatTTL (declared in ms)
    auth_ttl_s: float | None = None        # OIDC authTTL (declared in ms)


def client_regex(pattern: str | None) -> Callable[[str], bool]:
    """AppSync's client id regex (`appIdClientRegex`, OIDC `clientId`): whole-match; none = any."""
    if not pattern:
        return lambda client_id: True
    compiled = re.compile(pattern)
    return lambda client_id: compiled.fullmatch(client_id) is not None


class JwtAuthenticator:
    def __init__(self, tenant: str, rules: TokenRules, source: JwksSource,
                 clock: Callable[[], float] = time.time) -> None:
        self.tenant = tenant
        self.mode = rules.mode
        self.rules = rules
        self._source = source
        self._clock = clock

    async def authenticate(self, request: SignedRequest, headers: Mapping[str, str]) -> Caller:
        claims = await self.verify(headers.get("authorization", ""))
        return Caller(mode=self.mode, identity=self._identity(claims, request.source_ip))

    async def verify(self, value: str) -> dict[str, Any]:
        header = self._header(value)
        try:
            keys = await self._source.keys(self.rules.issuer, header.get("kid"))
        except Exception as exc:  # noqa: BLE001 - any failure to get keys refuses the token
            raise self._refused(f"cannot fetch the JWKS of {self.rules.issuer}: {exc}") from exc
        try:
            token = jwt.decode(value, keys, algorithms=list(ALGORITHMS))
        except JoseError as exc:
            raise self._refused(f"signature: {type(exc).__name__}: {exc}") from exc
        claims = dict(token.claims)
        self._check_claims(claims)
        return claims

    def _header(self, value: str) -> dict[str, Any]:
        """The token's protected header, read without trusting it (for `kid` and `alg`)."""
        from joserfc.jws import extract_compact

        try:
            header = extract_compact(value.encode()).headers()
        except (JoseError, ValueError, UnicodeError) as exc:
            raise UnauthorizedError(self.tenant, UNPARSABLE, f"not a compact JWS: {exc}") from exc
        if header.get("alg") not in ALGORITHMS:
            raise self._refused(f"alg {header.get('alg')!r} is not RS256")
        return header

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = int(self._clock())
        registry = jwt.JWTClaimsRegistry(now=now, iss={"essential": True, "value": self.rules.issuer},
                                         exp={"essential": True}, sub={"essential": True})
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise UnauthorizedError(self.tenant, EXPIRED, f"exp {claims.get('exp')} <= now {now}") from exc
        except JoseError as exc:
            raise self._refused(f"claims: {type(exc).__name__}: {exc}") from exc
        if self.mode == USER_POOLS:
            self._check_user_pool_claims(claims)
        else:
            self._check_oidc_claims(claims, now)

    def _check_user_pool_claims(self, claims: dict[str, Any]) -> None:
        use = claims.get("token_use")
        if use not in TOKEN_USES:
            raise self._refused(f"token_use {use!r} is neither id nor access")
        client_id = claims.get("aud") if use == "id" else claims.get("client_id")
        if not isinstance(client_id, str) or not self.rules.client_ids(client_id):
            raise self._refused(f"client id {client_id!r} is not a client this API accepts")

    def _check_oidc_claims(self, claims: dict[str, Any], now: int) -> None:
        audiences = claims.get("aud", claims.get("client_id"))
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or ())
        if not any(isinstance(a, str) and self.rules.client_ids(a) for a in audiences):
            raise self._refused(f"aud {audiences!r} does not match the declared client id")
        for claim, ttl in (("iat", self.rules.iat_ttl_s), ("auth_time", self.rules.auth_ttl_s)):
            if ttl and not (isinstance(claims.get(claim), (int, float)) and now - claims[claim] <= ttl):
                raise UnauthorizedError(self.tenant, EXPIRED, f"{claim} older than {ttl:g}s")

    def _refused(self, detail: str) -> UnauthorizedError:
        return UnauthorizedError(self.tenant, NOT_AUTHORIZED, f"{self.mode}: {detail}")

    def _identity(self, claims: dict[str, Any], source_ip: str) -> dict:
        if self.mode == OIDC:
            return {"claims": claims, "issuer": claims["iss"], "sub": claims["sub"]}
        return {
            "sub": claims["sub"],
            "issuer": claims["iss"],
            "username": claims.get("cognito:username") or claims.get("username") or claims["sub"],
            "claims": claims,
            "sourceIp": [source_ip],
            "defaultAuthStrategy": "ALLOW",
            "groups": claims.get("cognito:groups") or None,
        }
