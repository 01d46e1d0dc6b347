"""Request authentication for the local AppSync emulator, one authenticator per auth mode.

An API's authenticator is built from the modes its `GraphQLApi` declares (the default mode and the
additional providers, `tenantry.appsync.auth.declared`), never from a hard-coded default:
- `API_KEY` (`api_key.py`): the key issued for this API (tenant) only;
- `AWS_IAM` (`iam.py`): SigV4 for service `appsync`, recomputed with botocore's own signer;
- `AMAZON_COGNITO_USER_POOLS` / `OPENID_CONNECT` (`jwt.py`): a JWT in `Authorization`, verified as
  AppSync verifies it (RS256 signature against the issuer's JWKS, issuer, token use, client id,
  expiry).
AppSync picks the mode from the request: a SigV4 `Authorization` is IAM, any other `Authorization`
is a token for the user pool / OIDC modes, `x-api-key` is the API key; a mode the API does not
declare is refused like a bad credential, before any GraphQL is parsed.

The resulting `Caller` carries the mode (for directive-based field authorization) and the AppSync
`identity` object resolvers see (`None` for API key callers, as in AppSync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol

from tenantry.appsync.spec import API_KEY, AWS_IAM, OIDC, USER_POOLS  # noqa: F401 - the auth modes, re-exported
SIGV4_PREFIX = "AWS4-HMAC-SHA256"

# What AppSync answers, word for word, when no credential of a declared mode is present.
NO_CREDENTIALS = "Valid authorization header not provided."
NOT_AUTHORIZED = "You are not authorized to make this call."


class UnauthorizedError(Exception):
    """The request carries no valid credentials for this API (AppSync: UnauthorizedException).

    `reason` is what the client is told (AppSync's words); `detail` says exactly why, for the log.
    """

    error_type = "UnauthorizedException"

    def __init__(self, tenant: str, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.tenant = tenant
        self.reason = reason
        self.detail = detail or reason


@dataclass(frozen=True)
class Caller:
    mode: str                       # one of the modes above
    identity: dict | None           # AppSync `ctx.identity`


@dataclass(frozen=True)
class SignedRequest:
    """What a verifier needs of an HTTP request (or of a real-time auth header set)."""
    method: str
    paths: tuple[str, ...]          # candidate canonical paths (clients sign different ones)
    headers: Mapping[str, str]
    body: bytes
    source_ip: str = "127.0.0.1"


class ModeAuthenticator(Protocol):
    """Verifies one mode's credential; raises `UnauthorizedError`."""

    mode: str

    async def authenticate(self, request: SignedRequest, headers: Mapping[str, str]) -> Caller: ...


@dataclass
class Authenticator:
    """Verifies callers of one tenant's API with the modes it declares (`modes[0]` is the default)."""

    tenant: str
    modes: tuple[ModeAuthenticator, ...]
    _by_mode: dict[str, ModeAuthenticator] = field(init=False, repr=False)
    _token_modes: tuple[ModeAuthenticator, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_mode = {m.mode: m for m in self.modes}
        self._token_modes = tuple(m for m in self.modes if m.mode in (USER_POOLS, OIDC))

    @property
    def default_mode(self) -> str:
        return self.modes[0].mode

    def mode_for(self, mode: str) -> ModeAuthenticator | None:
        return self._by_mode.get(mode)

    async def authenticate(self, request: SignedRequest) -> Caller:
        headers = {k.lower(): v for k, v in request.headers.items()}
        authorization = headers.get("authorization")
        if authorization is not None and authorization.startswith(SIGV4_PREFIX):
            return await self._by(AWS_IAM, request, headers)
        if authorization is not None:
            if not self._token_modes:
                raise UnauthorizedError(self.tenant, NO_CREDENTIALS,
                                        "a token was sent but the API declares no user pool or OIDC mode")
            return await _first_accepting(self._token_modes, request, headers)
        if "x-api-key" in headers:
            return await self._by(API_KEY, request, headers)
        raise UnauthorizedError(self.tenant, NO_CREDENTIALS, "no Authorization or x-api-key header")

    async def _by(self, mode: str, request: SignedRequest, headers: Mapping[str, str]) -> Caller:
        verifier = self._by_mode.get(mode)
        if verifier is None:
            raise UnauthorizedError(self.tenant, NO_CREDENTIALS, f"the API does not declare {mode}")
        return await verifier.authenticate(request, headers)


async def _first_accepting(modes: list[ModeAuthenticator], request: SignedRequest,
                           headers: Mapping[str, str]) -> Caller:
    """A token is tried against the default token mode first, then the additional ones; the
    first mode's refusal is the one reported (AppSync reports one reason)."""
    first: UnauthorizedError | None = None
    for verifier in modes:
        try:
            return await verifier.authenticate(request, headers)
        except UnauthorizedError as exc:
            first = first or exc
    assert first is not None
    raise first
