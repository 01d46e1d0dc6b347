"""The local AppSync endpoint speaks AppSync's HTTP and real-time protocols.

The field executor is a stub here (the real one is tested by the AppSync suite); these tests pin
what the server itself owns: auth, directive authorization, error shapes, scalar validation,
publish -> subscription fan-out, and that gql's AppSync transports work unchanged against it.
"""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest
from botocore.credentials import Credentials
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication, AppSyncIAMAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError, TransportServerError

from tests.functional.local_support.stub_server import (
    CONTROL_KEY,
    KEYS,
    StubExecutor,
    signed_headers,
    stub_server,
)

pytestmark = pytest.mark.functional

CREDENTIALS = Credentials("testing", "testing")


def api_key_for(tenant: str) -> str:
    return KEYS[tenant]


UPDATE = {"accountId": "acc-1", "balance": 500, "version": 3, "status": "OPEN",
          "updatedAt": "2024-05-01T10:00:00.000Z"}
ACCOUNT_UPDATE_FIELDS = "accountId balance version status updatedAt"
PUBLISH = f"""mutation P($input: AccountUpdateInput!) {{
  publishAccountUpdate(input: $input) {{ {ACCOUNT_UPDATE_FIELDS} }} }}"""
SUBSCRIBE = "subscription S($id: ID!) { onAccountUpdated(accountId: $id) { accountId balance version } }"


_HUBS: dict = {}


@pytest.fixture(scope="module")
def server():
    with stub_server() as running:
        _HUBS.update(running.hubs)
        yield running.host


def http_url(host: str, tenant: str = "acme") -> str:
    return f"http://{host}/{tenant}/graphql"


def ws_url(host: str, tenant: str = "acme") -> str:
    return f"ws://{host}/{tenant}/graphql/realtime"


def run(coro):
    return asyncio.run(coro)


async def _execute(host, document, variables=None, tenant="acme", key=None, headers=None):
    transport = AIOHTTPTransport(url=http_url(host, tenant),
                                 headers=headers if headers is not None
                                 else {"x-api-key": key or api_key_for(tenant)})
    async with Client(transport=transport) as session:
        return await session.execute(GraphQLRequest(document, variable_values=variables))


async def _post(host, body, headers, tenant="acme"):
    async with aiohttp.ClientSession() as http:
        async with http.post(http_url(host, tenant), data=body, headers=headers) as response:
            return response.status, await response.json()


def test_query_with_api_key_returns_resolver_data(server):
    # GIVEN the tenant's own key WHEN querying an account
    result = run(_execute(server, ('query { account(id: "a1") { id balance status openedAt } }')))
    # THEN the resolver's item comes back shaped by the selection set
    assert result == {"account": {"id": "a1", "balance": 7, "status": "OPEN",
                                  "openedAt": "2024-05-01T10:00:00Z"}}


def test_selection_set_list_and_arguments_reach_the_executor(server):
    StubExecutor.calls.clear()
    run(_execute(server, ('mutation { deposit(input: {accountId: "a", amount: 5, commandId: "c"}) '
                             '{ accountId version } }')))
    call = next(c for c in StubExecutor.calls if c.field_name == "deposit")
    assert call.selection_set_list == ["accountId", "version"]
    assert call.arguments == {"input": {"accountId": "a", "amount": 5, "commandId": "c"}}
    assert call.identity is None and call.path == ("deposit",)


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "da2-wrong"}, {"x-api-key": api_key_for("globex")}])
def test_missing_wrong_or_other_tenants_key_is_unauthorized_exception(server, headers):
    status, body = run(_post(server, json.dumps({"query": "{ account(id: \"x\") { id } }"}),
                             {"content-type": "application/json", **headers}))
    assert status == 401
    assert body["errors"][0]["errorType"] == "UnauthorizedException"


def test_publish_with_api_key_is_refused_per_field(server):
    with pytest.raises(TransportQueryError) as caught:
        run(_execute(server, PUBLISH, {"input": UPDATE}))
    error = caught.value.errors[0]
    assert error["errorType"] == "Unauthorized"
    assert error["path"] == ["publishAccountUpdate"]
    assert error["message"] == "Not Authorized to access publishAccountUpdate on type Mutation"
    assert caught.value.data == {"publishAccountUpdate": None}


def test_publish_with_sigv4_is_accepted(server):
    body = json.dumps({"query": PUBLISH,
                       "variables": {"input": UPDATE}}).encode()
    status, answer = run(_post(server, body, signed_headers(server, "/acme/graphql", body)))
    assert status == 200
    assert answer == {"data": {"publishAccountUpdate": UPDATE}}


def test_sigv4_with_tampered_body_is_unauthorized(server):
    body = json.dumps({"query": "{ account(id: \"x\") { id } }"}).encode()
    headers = signed_headers(server, "/acme/graphql", body)
    status, answer = run(_post(server, body.replace(b"x", b"y"), headers))
    assert status == 401
    assert answer["errors"][0]["errorType"] == "UnauthorizedException"


def test_iam_caller_cannot_use_api_key_only_fields(server):
    body = json.dumps({"query": "{ account(id: \"x\") { id } }"}).encode()
    status, answer = run(_post(server, body, signed_headers(server, "/acme/graphql", body)))
    assert status == 200
    assert answer["errors"][0]["errorType"] == "Unauthorized"


def test_resolver_error_has_appsync_shape(server):
    with pytest.raises(TransportQueryError) as caught:
        run(_execute(server, ('mutation { deposit(input: {accountId: "a", amount: 5000, commandId: "c"}) '
                                 '{ accountId } }')))
    error = caught.value.errors[0]
    assert error["errorType"] == "InsufficientFunds"
    assert error["errorInfo"] == {"balance": 0}
    assert error["path"] == ["deposit"]
    # gql re-prints the document, so the location is that of the printed `deposit` field
    assert error["locations"] == [{"line": 2, "column": 3, "sourceName": None}]
    assert set(error) == {"message", "errorType", "data", "errorInfo", "path", "locations"}


@pytest.mark.parametrize("at", ["2024-05-01", "2024-13-01T00:00:00Z", "2024-05-01T10:00:00", "now"])
def test_aws_datetime_is_validated(server, at):
    with pytest.raises(TransportQueryError) as caught:
        run(_execute(server, ("query Q($at: AWSDateTime) { accountAt(id: \"a\", at: $at) { id } }"),
                     {"at": at}))
    assert caught.value.errors[0]["errorType"] == "ValidationError"


def test_unknown_tenant_is_not_found(server):
    status, _ = run(_post(server, "{}", {"x-api-key": "k"}, tenant="nobody"))
    assert status == 404


async def _subscribe_then_publish(host, account_id, updates):
    transport = AppSyncWebsocketsTransport(
        url=ws_url(host), auth=AppSyncApiKeyAuthentication(host=host, api_key=api_key_for("acme")))
    received = []
    async with Client(transport=transport) as session:
        async def consume():
            async for result in session.subscribe(GraphQLRequest(SUBSCRIBE, variable_values={"id": account_id})):
                received.append(result["onAccountUpdated"])
                if len(received) == 2:
                    return
        task = asyncio.create_task(consume())
        await _wait_for_subscribers(host, 1)
        for update in updates:
            await _publish(host, update)
        await asyncio.wait_for(task, 10)
    return received


async def _publish(host, update):
    body = json.dumps({"query": "mutation P($input: AccountUpdateInput!) { publishAccountUpdate(input: $input) "
                                f"{{ {ACCOUNT_UPDATE_FIELDS} }} }}", "variables": {"input": update}}).encode()
    status, answer = await _post(host, body, signed_headers(host, "/acme/graphql", body))
    assert status == 200 and "errors" not in answer, answer


async def _wait_for_subscribers(host, count):
    # gql does not surface start_ack; the hub is in-process, so wait until it holds the subscriber.
    for _ in range(500):
        if len(_HUBS["acme"]) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("subscription never became active")


def test_gql_appsync_transport_receives_matching_updates_in_order(server):
    # GIVEN a subscriber on acc-1 WHEN updates for acc-2 and acc-1 (v3, v4) are published
    updates = [dict(UPDATE, accountId="acc-2"), UPDATE, dict(UPDATE, version=4, balance=600)]
    received = run(_subscribe_then_publish(server, "acc-1", updates))
    # THEN only acc-1's arrive, in order, reshaped to the subscriber's selection set
    assert received == [{"accountId": "acc-1", "balance": 500, "version": 3},
                        {"accountId": "acc-1", "balance": 600, "version": 4}]


async def _raw_session(url, messages, until):
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, protocols=("graphql-ws",)) as ws:
            seen = []
            for message in messages:
                await ws.send_json(message)
            async for frame in ws:
                seen.append(json.loads(frame.data))
                if until(seen):
                    return seen
    return seen


def _header(host, tenant="acme"):
    return {"host": host, "x-api-key": api_key_for(tenant)}


def _b64(value: dict) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _start(sub_id, account_id, auth):
    data = json.dumps({"query": SUBSCRIBE,
                       "variables": {"id": account_id}})
    return {"id": sub_id, "type": "start", "payload": {"data": data, "extensions": {"authorization": auth}}}


def test_raw_protocol_ack_ka_start_ack_stop_complete(server):
    url = f"{ws_url(server)}?header={_b64(_header(server))}&payload=e30="
    seen = run(_raw_session(url, [{"type": "connection_init"}, _start("1", "acc-1", _header(server)),
                                  {"type": "stop", "id": "1"}],
                            lambda s: any(m["type"] == "complete" for m in s)))
    kinds = [m["type"] for m in seen]
    assert kinds[:2] == ["connection_ack", "ka"]
    assert seen[0]["payload"]["connectionTimeoutMs"] > 0
    assert kinds.index("start_ack") < kinds.index("complete")


def test_header_subprotocol_auth_is_accepted(server):
    header = base64.urlsafe_b64encode(json.dumps(_header(server)).encode()).decode().rstrip("=")

    async def session():
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(ws_url(server), protocols=("graphql-ws", f"header-{header}")) as ws:
                assert ws.protocol == "graphql-ws"
                await ws.send_json({"type": "connection_init"})
                return (await ws.receive_json())["type"]
    assert run(session()) == "connection_ack"


def test_keep_alive_is_periodic(server):
    url = f"{ws_url(server)}?header={_b64(_header(server))}&payload=e30="
    seen = run(_raw_session(url, [{"type": "connection_init"}],
                            lambda s: sum(m["type"] == "ka" for m in s) >= 3))
    assert sum(m["type"] == "ka" for m in seen) >= 3


def test_connection_with_other_tenants_key_gets_connection_error(server):
    url = f"{ws_url(server)}?header={_b64(_header(server, 'globex'))}&payload=e30="
    seen = run(_raw_session(url, [{"type": "connection_init"}], lambda s: True))
    assert seen[0]["type"] == "connection_error"
    assert seen[0]["payload"]["errors"][0]["errorType"] == "UnauthorizedException"


def test_start_refused_by_subscription_resolver_is_error(server):
    url = f"{ws_url(server)}?header={_b64(_header(server))}&payload=e30="
    seen = run(_raw_session(url, [{"type": "connection_init"}, _start("9", "forbidden", _header(server))],
                            lambda s: any(m["type"] == "error" for m in s)))
    error = next(m for m in seen if m["type"] == "error")
    assert error["id"] == "9"
    assert error["payload"]["errors"][0]["errorType"] == "Unauthorized"


def test_gql_iam_auth_on_realtime_is_verified(server):
    async def session():
        auth = AppSyncIAMAuthentication(host=server, region_name="us-east-1", credentials=CREDENTIALS)
        transport = AppSyncWebsocketsTransport(url=ws_url(server), auth=auth)
        async with Client(transport=transport):
            return True
    # onAccountUpdated has no auth directive -> API key only, but the connection itself is valid
    assert run(session())


def test_gql_with_wrong_key_fails_to_connect(server):
    async def session():
        transport = AppSyncWebsocketsTransport(
            url=ws_url(server), auth=AppSyncApiKeyAuthentication(host=server, api_key="da2-wrong"))
        async with Client(transport=transport):
            pass
    with pytest.raises(TransportServerError):
        run(session())


def test_start_before_connection_init_is_an_error_and_subscribes_nothing(server):
    # GIVEN a connection with valid credentials that sends `start` before `connection_init`
    url = f"{ws_url(server)}?header={_b64(_header(server))}&payload=e30="
    messages = [_start("early", "acc-1", _header(server)), {"type": "connection_init"}]
    # WHEN the server answers both (in order)
    seen = run(_raw_session(url, messages, lambda s: any(m["type"] == "connection_ack" for m in s)))
    # THEN the start got an AppSync-shaped error and never a start_ack
    kinds = [m["type"] for m in seen]
    assert kinds[:2] == ["error", "connection_ack"]
    assert seen[0]["id"] == "early"
    assert seen[0]["payload"]["errors"][0]["errorType"] == "BadRequestException"
    assert "start_ack" not in kinds


def test_start_after_a_failed_handshake_is_unauthorized_even_with_valid_start_auth(server):
    # GIVEN a handshake with another tenant's key, then a `start` carrying this tenant's key
    url = f"{ws_url(server)}?header={_b64(_header(server, 'globex'))}&payload=e30="
    messages = [_start("sneaky", "acc-1", _header(server)), {"type": "connection_init"}]
    # WHEN the server answers both
    seen = run(_raw_session(url, messages, lambda s: any(m["type"] == "connection_error" for m in s)))
    # THEN the start is refused as unauthorized, no subscription is made, and init still fails
    assert [m["type"] for m in seen] == ["error", "connection_error"]
    assert seen[0]["id"] == "sneaky"
    assert seen[0]["payload"]["errors"][0]["errorType"] == "UnauthorizedException"
    assert len(_HUBS["acme"]) == 0


def _apply_url(host: str, tenant: str = "acme") -> str:
    return f"http://{host}/_tenantry/{tenant}/apply"


async def _post_apply(host, headers):
    async with aiohttp.ClientSession() as http:
        async with http.post(_apply_url(host), data=b"{}", headers=headers) as response:
            return response.status, await response.json()


def test_apply_route_takes_the_runs_control_key(server):
    status, body = run(_post_apply(server, {"content-type": "application/json",
                                            "x-tenantry-control-key": CONTROL_KEY}))
    assert (status, body) == (200, {"applied": {"reapplied": "acme"}})


def test_apply_route_refuses_the_api_key(server):
    # GIVEN the tenant's API key, a credential of the API's callers, not of the dev server's operator
    status, body = run(_post_apply(server, {"content-type": "application/json", **_header(server)}))
    # THEN the re-apply route refuses it
    assert status == 401
    assert body["errors"][0]["errorType"] == "UnauthorizedException"


def test_apply_route_refuses_sigv4_signed_with_the_public_credentials(server):
    # GIVEN a request signed with the emulator's (public) IAM credentials
    headers = signed_headers(server, "/_tenantry/acme/apply", b"{}")
    # WHEN it asks for a re-apply THEN it is refused: such a signature proves nothing
    status, body = run(_post_apply(server, headers))
    assert status == 401
    assert body["errors"][0]["errorType"] == "UnauthorizedException"
