"""User pool tokens are verified as AppSync verifies them, over HTTP and over the real-time protocol.

The pools are the embedded emulator's (moto issues RS256 tokens and serves each pool's JWKS); the
authenticator is built from declared modes exactly as `tenantry dev` builds it. Every refused kind
of token is answered `UnauthorizedException` (HTTP 401 with `x-amzn-ErrorType`; a
`connection_error` on the real-time endpoint), and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Callable

import aiohttp
import pytest
from gql import Client, GraphQLRequest
from gql.transport.appsync_auth import AppSyncJWTAuthentication
from joserfc.jwk import RSAKey

from tenantry.appsync.auth import AWS_IAM, NOT_AUTHORIZED, USER_POOLS, SignedRequest, UnauthorizedError
from tenantry.appsync.auth.api_key import new_api_key
from tenantry.appsync.auth.declared import AuthWiring, DeclaredMode, LocalPool, build_authenticator
from tenantry.appsync.auth.jwt import EXPIRED, UNPARSABLE
from tenantry.local.emulator import Emulator
from tests.e2e.support import AckedAppSyncTransport
from tests.functional.local_support import tokens as tk
from tests.functional.local_support.stub_server import stub_server

pytestmark = pytest.mark.functional

DECLARED_POOL = "declared-acme-pool"      # the mock runtime's id; the emulator's differs


@pytest.fixture(scope="module")
def emulator():
    with Emulator() as running:
        yield running


@pytest.fixture(scope="module")
def pools(emulator):
    return {"acme": tk.make_pool(emulator, "eu-west-1", "acme", groups=("admins",)),
            "acme-other": tk.make_pool(emulator, "eu-west-1", "acme-other"),
            "globex": tk.make_pool(emulator, "us-east-1", "globex")}


@pytest.fixture(scope="module")
def issued(emulator, pools):
    return {name: tk.tokens_of(emulator, pool) for name, pool in pools.items()}


def authenticator(emulator, pool: tk.Pool):
    modes = (DeclaredMode(USER_POOLS, user_pool_id=DECLARED_POOL, region=pool.region), DeclaredMode(AWS_IAM))
    wiring = AuthWiring("acme", {DECLARED_POOL: LocalPool(pool.id, pool.region, frozenset({pool.client_id}))},
                        emulator.endpoint_url, new_api_key)
    return build_authenticator(modes, wiring)[0]


def _key(pools) -> RSAKey:
    return tk.pool_key("eu-west-1", pools["acme"].id)


# name -> (token maker, what the caller is told). The messages are AppSync's words.
REFUSED: dict[str, tuple[Callable, str]] = {
    "expired": (lambda t, p: tk.expired(t["acme"]["IdToken"], _key(p)), EXPIRED),
    "tampered payload": (lambda t, p: tk.tampered(t["acme"]["IdToken"], sub="someone-else"), NOT_AUTHORIZED),
    "wrong signature": (lambda t, p: tk.signed(tk.claims_of(t["acme"]["IdToken"]),
                                               RSAKey.generate_key(2048)), NOT_AUTHORIZED),
    "alg none": (lambda t, p: tk.unsigned(t["acme"]["IdToken"]), NOT_AUTHORIZED),
    "HS256 with the public key": (lambda t, p: tk.hs256_with_public_key(t["acme"]["IdToken"], _key(p)),
                                  NOT_AUTHORIZED),
    "another pool's token": (lambda t, p: t["acme-other"]["IdToken"], NOT_AUTHORIZED),
    "the other tenant's token": (lambda t, p: t["globex"]["IdToken"], NOT_AUTHORIZED),
    "an unknown client's token": (lambda t, p: tk.signed({**tk.claims_of(t["acme"]["IdToken"]),
                                                          "aud": "not-a-client"}, _key(p)), NOT_AUTHORIZED),
    "a refresh-use token": (lambda t, p: tk.signed({**tk.claims_of(t["acme"]["IdToken"]),
                                                    "token_use": "refresh"}, _key(p)), NOT_AUTHORIZED),
    "no exp": (lambda t, p: tk.signed({k: v for k, v in tk.claims_of(t["acme"]["IdToken"]).items()
                                       if k != "exp"}, _key(p)), NOT_AUTHORIZED),
    "Bearer prefix": (lambda t, p: f"Bearer {t['acme']['IdToken']}", UNPARSABLE),
    "not a JWT": (lambda t, p: "abc", UNPARSABLE),
    "empty": (lambda t, p: "", UNPARSABLE),
}


def _verify(auth, token: str):
    return asyncio.run(auth.authenticate(SignedRequest("POST", ("/graphql",), {"Authorization": token}, b"{}")))


@pytest.mark.parametrize("kind", ["IdToken", "AccessToken"])
def test_the_pools_id_and_access_tokens_are_accepted_with_appsyncs_identity(emulator, pools, issued, kind):
    # GIVEN a token the API's own pool issued (AppSync accepts both kinds)
    caller = _verify(authenticator(emulator, pools["acme"]), issued["acme"][kind])
    # THEN the caller is a user pool caller with the identity AppSync passes to resolvers
    claims = tk.claims_of(issued["acme"][kind])
    assert caller.mode == USER_POOLS
    assert caller.identity["sub"] == claims["sub"]
    assert caller.identity["issuer"] == pools["acme"].issuer
    assert caller.identity["groups"] == ["admins"]
    assert caller.identity["claims"] == claims
    assert caller.identity["defaultAuthStrategy"] == "ALLOW"


@pytest.mark.parametrize("case", REFUSED)
def test_refused_tokens(emulator, pools, issued, case):
    make, answer = REFUSED[case]
    with pytest.raises(UnauthorizedError) as refused:
        _verify(authenticator(emulator, pools["acme"]), make(issued, pools))
    assert refused.value.reason == answer


def test_a_token_is_refused_where_the_api_declares_no_token_mode(emulator, pools, issued):
    auth = build_authenticator((DeclaredMode(AWS_IAM),), AuthWiring("acme", {}, emulator.endpoint_url,
                                                                     new_api_key))[0]
    with pytest.raises(UnauthorizedError):
        _verify(auth, issued["acme"]["IdToken"])


def test_an_api_key_is_refused_where_the_api_declares_none(emulator, pools):
    auth = authenticator(emulator, pools["acme"])
    with pytest.raises(UnauthorizedError) as refused:
        asyncio.run(auth.authenticate(SignedRequest("POST", ("/graphql",), {"x-api-key": new_api_key()}, b"{}")))
    assert refused.value.reason == "Valid authorization header not provided."


# -- over the wire ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(emulator, pools):
    with stub_server(token_modes={"acme": authenticator(emulator, pools["acme"]).mode_for(USER_POOLS)}) as running:
        yield running.host


# Query.account has no directive: the API's default mode (the user pool here) may call it.
QUERY = 'query { account(id: "a-1") { __typename } }'
SUBSCRIBE = "subscription { onAccountUpdated(accountId: \"a-1\") { accountId balance } }"


async def _post(host: str, token: str) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://{host}/acme/graphql", data=json.dumps({"query": QUERY}),
                             headers={"content-type": "application/json", "Authorization": token}) as r:
            return r.status, dict(r.headers), await r.json()


def test_http_accepts_the_pools_token_for_default_mode_fields(server, issued):
    status, _, body = asyncio.run(_post(server, issued["acme"]["IdToken"]))
    assert (status, body) == (200, {"data": {"account": {"__typename": "Account"}}})


@pytest.mark.parametrize("case", REFUSED)
def test_http_refuses_with_unauthorized_exception_and_keeps_serving(server, pools, issued, case):
    make, answer = REFUSED[case]
    status, headers, body = asyncio.run(_post(server, make(issued, pools)))
    assert status == 401
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert body == {"errors": [{"errorType": "UnauthorizedException", "message": answer}]}
    assert asyncio.run(_post(server, issued["acme"]["IdToken"]))[0] == 200


async def _connect(host: str, token: str) -> list[dict]:
    header = base64.b64encode(json.dumps({"host": host, "Authorization": token}).encode()).decode()
    url = f"ws://{host}/acme/graphql/realtime?header={header}&payload=e30="
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, protocols=("graphql-ws",)) as ws:
            await ws.send_json({"type": "connection_init"})
            first = await ws.receive_json(timeout=5)
            return [first]


@pytest.mark.parametrize("case", REFUSED)
def test_realtime_refuses_the_connection_and_keeps_serving(server, pools, issued, case):
    make, answer = REFUSED[case]
    [message] = asyncio.run(_connect(server, make(issued, pools)))
    assert message == {"type": "connection_error", "payload": {"errors": [
        {"errorType": "UnauthorizedException", "message": answer, "errorCode": 401}]}}
    assert asyncio.run(_connect(server, issued["acme"]["IdToken"]))[0]["type"] == "connection_ack"


def test_gql_appsync_jwt_authentication_subscribes_unchanged(server, issued):
    # GIVEN gql's own JWT auth (the token in the handshake header and in each start)
    async def subscribe() -> bool:
        auth = AppSyncJWTAuthentication(host=server, jwt=issued["acme"]["IdToken"])
        transport = AckedAppSyncTransport(url=f"ws://{server}/acme/graphql/realtime", auth=auth)
        async with Client(transport=transport) as session:
            task = asyncio.ensure_future(session.subscribe(GraphQLRequest(SUBSCRIBE)).__anext__())
            acked = await asyncio.wait_for(transport.acked.wait(), 10)
            task.cancel()
            return acked
    # THEN the subscription is acknowledged
    assert asyncio.run(subscribe()) is True
