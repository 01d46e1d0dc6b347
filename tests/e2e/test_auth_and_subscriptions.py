"""Auth per tenant (dev users' tokens), the IAM-only publish mutation, and live subscription updates."""

from __future__ import annotations

import asyncio

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError, TransportServerError

from tests.e2e import documents as doc
from tests.e2e.support import Api, auth_headers, realtime_transport, user_token
from tests.e2e.test_commands import money, open_account

pytestmark = pytest.mark.e2e

UPDATE_TIMEOUT_S = 30   # a deadline so a broken pipeline fails instead of hanging; not a perf check


def test_other_tenants_token_is_refused(acme, globex):
    # GIVEN globex's alice, signed in at globex's pool
    with pytest.raises(TransportQueryError) as caught:
        Api(acme, headers=auth_headers(globex, "alice")).execute(doc.GET_ACCOUNT, {"id": "x"})
    # THEN acme's API refuses her token as a whole
    assert caught.value.errors[0]["errorType"] == "UnauthorizedException"


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "da2-0123456789abcdef0123456789"},
                                     {"Authorization": "not-a-token"}])
def test_no_token_an_api_key_or_garbage_is_refused(acme, headers):
    # GIVEN a tenant that declares no API key WHEN a caller brings none of its modes' credentials
    with pytest.raises(TransportQueryError) as caught:
        Api(acme, headers=headers or {"content-type": "application/json"}).execute(doc.GET_ACCOUNT, {"id": "x"})
    assert caught.value.errors[0]["errorType"] == "UnauthorizedException"


def test_an_access_token_is_accepted_too(acme):
    # AppSync takes both token uses of the pool (client id in `client_id` rather than `aud`)
    headers = {"Authorization": user_token(acme, "alice", "AccessToken")}
    assert Api(acme, headers=headers).execute(doc.GET_ACCOUNT, {"id": "nobody"}) == {"account": None}


def test_each_tenant_serves_its_own_data(acme, globex):
    account_id = open_account(Api(acme))
    assert Api(globex).execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"] is None


@pytest.mark.parametrize("user", ["alice", "ops"])
def test_publish_is_refused_to_users_even_admins(acme, user):
    update = {"accountId": "a", "balance": 1, "version": 1, "status": "OPEN",
              "updatedAt": "2024-01-01T00:00:00Z"}
    with pytest.raises(TransportQueryError) as caught:
        Api(acme, user).execute(doc.PUBLISH, {"input": update})
    assert caught.value.errors[0]["errorType"] == "Unauthorized"
    assert caught.value.data == {"publishAccountUpdate": None}


def test_realtime_refuses_other_tenants_token(acme, globex):
    async def connect():
        async with Client(transport=realtime_transport(acme, token=user_token(globex, "alice"))):
            pass
    with pytest.raises(TransportServerError):
        asyncio.run(connect())


async def _updates_while(acme, account_id: str, cause) -> list[dict]:
    """Subscribe, run `cause` (returns the last version it wrote), collect updates up to it."""
    transport = realtime_transport(acme)
    received: list[dict] = []
    last_version: asyncio.Future = asyncio.get_running_loop().create_future()
    async with Client(transport=transport) as session:
        async def consume():
            request = GraphQLRequest(doc.ON_UPDATE, variable_values={"accountId": account_id})
            async for result in session.subscribe(request):
                received.append(result["onAccountUpdated"])
                if last_version.done() and received[-1]["version"] >= last_version.result():
                    return
        task = asyncio.create_task(consume())
        await asyncio.wait_for(transport.acked.wait(), UPDATE_TIMEOUT_S)
        last_version.set_result(await cause())
        await asyncio.wait_for(task, UPDATE_TIMEOUT_S)
    return received


def test_subscription_receives_updates_in_version_order(acme):
    api = Api(acme)
    account_id = open_account(api, initial=1)
    other = open_account(api, initial=1)
    versions: list[int] = []

    async def deposits() -> int:
        for amount in (1, 2, 3, 4, 5):
            await api.aexecute(doc.DEPOSIT, money(other, amount))       # not ours: filtered out
            versions.append((await api.aexecute(doc.DEPOSIT, money(account_id, amount)))["deposit"]["version"])
        return versions[-1]

    # the projector coalesces per batch, so a subscriber may see fewer updates, never out of order
    received = asyncio.run(_updates_while(acme, account_id, deposits))
    assert {u["accountId"] for u in received} == {account_id}
    seen = [u["version"] for u in received]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert received[-1]["version"] == versions[-1] and received[-1]["balance"] == 1 + 15
