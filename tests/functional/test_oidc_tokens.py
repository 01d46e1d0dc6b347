"""OPENID_CONNECT mode against a local OIDC issuer: keys this test makes, served by a tiny aiohttp
app (discovery document + JWKS), the way a tenant's own identity provider serves them."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aiohttp import web
from joserfc.jwk import RSAKey

from tenantry.appsync.auth import NOT_AUTHORIZED, OIDC, SignedRequest, UnauthorizedError
from tenantry.appsync.auth.api_key import new_api_key
from tenantry.appsync.auth.declared import AuthWiring, DeclaredMode, build_authenticator
from tenantry.appsync.auth.jwt import EXPIRED
from tests.e2e.support import free_port
from tests.functional.local_support.tokens import signed

pytestmark = pytest.mark.functional

CLIENT_ID = "acme-web"
KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})


class Issuer:
    """`/.well-known/openid-configuration` -> `jwks_uri` -> the public key; counts JWKS fetches."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.jwks_fetches = 0
        self._loop = asyncio.new_event_loop()

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response({"issuer": self.url, "jwks_uri": f"{self.url}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return web.json_response({"keys": [KEY.as_dict(private=False)]})

    def __enter__(self) -> "Issuer":
        app = web.Application()
        app.add_routes([web.get("/.well-known/openid-configuration", self._discovery),
                        web.get("/keys", self._keys)])
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture(scope="module")
def issuer():
    with Issuer() as running:
        yield running


def _authenticator(issuer: Issuer, iat_ttl_ms: int | None = None):
    modes = (DeclaredMode(OIDC, issuer=issuer.url, client_id=CLIENT_ID, iat_ttl_ms=iat_ttl_ms),)
    return build_authenticator(modes, AuthWiring("acme", {}, "http://unused", new_api_key))[0]


def _claims(issuer: Issuer, **changes) -> dict:
    now = int(time.time())
    return {"iss": issuer.url, "sub": "user-1", "aud": CLIENT_ID, "iat": now, "exp": now + 600,
            "groups": ["admins"], **changes}


def _verify(auth, token: str):
    return asyncio.run(auth.authenticate(SignedRequest("POST", ("/graphql",), {"authorization": token}, b"")))


def test_the_providers_token_is_accepted_and_its_keys_fetched_once(issuer):
    # GIVEN an API whose default mode is the tenant's OIDC provider
    auth = _authenticator(issuer)
    before = issuer.jwks_fetches
    # WHEN two of the provider's tokens arrive
    callers = [_verify(auth, signed(_claims(issuer), KEY, kid="idp-1")) for _ in range(2)]
    # THEN both are OIDC callers with AppSync's OIDC identity, and the JWKS was fetched once
    assert [c.mode for c in callers] == [OIDC, OIDC]
    identity = callers[0].identity
    assert set(identity) == {"claims", "issuer", "sub"}
    assert (identity["sub"], identity["issuer"], identity["claims"]["groups"]) == ("user-1", issuer.url, ["admins"])
    assert issuer.jwks_fetches - before == 1


@pytest.mark.parametrize("case, changes, answer", [
    ("another client", {"aud": "someone-else"}, NOT_AUTHORIZED),
    ("another issuer", {"iss": "https://idp.example.com"}, NOT_AUTHORIZED),
    ("expired", {"exp": int(time.time()) - 60}, EXPIRED),
])
def test_refused_oidc_tokens(issuer, case, changes, answer):
    with pytest.raises(UnauthorizedError) as refused:
        _verify(_authenticator(issuer), signed(_claims(issuer, **changes), KEY, kid="idp-1"))
    assert refused.value.reason == answer


def test_a_key_the_provider_does_not_publish_is_refused(issuer):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    with pytest.raises(UnauthorizedError) as refused:
        _verify(_authenticator(issuer), signed(_claims(issuer), stranger, kid="idp-1"))
    assert refused.value.reason == NOT_AUTHORIZED


def test_the_declared_iat_ttl_bounds_a_tokens_age(issuer):
    # GIVEN iatTTL 60 s and a token issued two minutes ago, not yet expired
    token = signed(_claims(issuer, iat=int(time.time()) - 120), KEY, kid="idp-1")
    # THEN it is refused as expired
    with pytest.raises(UnauthorizedError) as refused:
        _verify(_authenticator(issuer, iat_ttl_ms=60_000), token)
    assert refused.value.reason == EXPIRED
