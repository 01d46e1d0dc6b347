"""What the local AppSync's HTTP side owns beyond the protocol: browsers (CORS, error headers),
malformed bodies, and the bounds on what one request may cost. The executor is a stub."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import aiohttp
import pytest

from tenantry.appsync.executor import FieldOutcome
from tenantry.appsync.limits import Limits
from tests.functional.local_support.stub_server import KEYS, StubExecutor, signed_headers, stub_server

pytestmark = pytest.mark.functional

ORIGIN = "http://localhost:5173"
ACCOUNT = '{ account(id: "a1") { id } }'


@pytest.fixture(scope="module")
def host():
    with stub_server(limits=Limits(query_depth=3, resolver_count=5)) as running:
        yield running.host


def post(host: str, body: bytes | str, headers: dict | None = None, tenant: str = "acme"):
    async def go():
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://{host}/{tenant}/graphql", data=body, headers={
                    "content-type": "application/json", "x-api-key": KEYS["acme"], **(headers or {})}) as r:
                return r.status, r.headers, await r.json(content_type=None)
    return asyncio.run(go())


def options(host: str, tenant: str = "acme"):
    async def go():
        async with aiohttp.ClientSession() as http:
            async with http.options(f"http://{host}/{tenant}/graphql", headers={
                    "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-api-key,x-amz-user-agent"}) as r:
                return r.status, r.headers
    return asyncio.run(go())


def test_preflight_is_answered_with_the_headers_appsync_clients_send(host):
    # GIVEN a page on another origin WHEN the browser sends its CORS preflight
    status, headers = options(host)
    # THEN it may POST with every header AppSync clients use
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"x-api-key", "authorization", "x-amz-date", "x-amz-security-token", "x-amz-user-agent",
            "content-type"} <= allowed
    assert "POST" in headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("headers, status", [({}, 200), ({"x-api-key": "da2-wrong"}, 401)])
def test_every_response_allows_the_origin_and_exposes_appsync_headers(host, headers, status):
    got, response_headers, _ = post(host, json.dumps({"query": ACCOUNT}), {"Origin": ORIGIN, **headers})
    assert got == status and response_headers["Access-Control-Allow-Origin"] == "*"
    assert "x-amzn-ErrorType" in response_headers["Access-Control-Expose-Headers"]


def test_unauthorized_carries_x_amzn_error_type(host):
    status, headers, body = post(host, json.dumps({"query": ACCOUNT}), {"x-api-key": "da2-wrong"})
    assert status == 401 and headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert body["errors"][0]["errorType"] == "UnauthorizedException"


def test_unknown_tenant_carries_x_amzn_error_type(host):
    status, headers, _ = post(host, json.dumps({"query": ACCOUNT}), tenant="nobody")
    assert status == 404 and headers["x-amzn-ErrorType"] == "NotFoundException"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("body", [
    json.dumps({"query": ACCOUNT, "variables": [1, 2]}),
    json.dumps({"query": ACCOUNT, "variables": "x"}),
    json.dumps({"query": ACCOUNT, "operationName": 5}),
    '{"query": "{ account(id: \\"a\\") { id } }", "variables": {"v": ' + nested(100_000) + "}}",
    '{"query": "{ x }", "variables": {"v": ' + nested(200) + "}}",
    json.dumps([{"query": ACCOUNT}]),
    "not json",
    json.dumps({"query": None}),
])
def test_malformed_bodies_are_400_malformed_and_the_server_keeps_serving(host, body):
    # WHEN a body no GraphQL server would execute arrives
    status, headers, answer = post(host, body)
    # THEN a typed 400, and the next request is served as usual
    assert status == 400 and headers["x-amzn-ErrorType"] == "MalformedHttpRequestException"
    assert answer["errors"][0]["errorType"] == "MalformedHttpRequestException"
    assert post(host, json.dumps({"query": ACCOUNT}))[0] == 200


def test_a_query_deeper_than_the_declared_limit_is_refused_before_any_resolver_runs(host):
    # GIVEN a depth limit of 3
    three = ('mutation { transfer(input: {fromAccountId: "a", toAccountId: "b", amount: 1, commandId: "c"})'
             ' { from { accountId } } }')
    admitted = post(host, json.dumps({"query": three}))[2]     # (the stub has no transfer: null)
    assert all(e["errorType"] != "QueryDepthLimitExceeded" for e in admitted["errors"])
    StubExecutor.calls.clear()
    # WHEN a query nests 5 levels deep (through a fragment)
    five = "{ __schema { types { ...F } } } fragment F on __Type { fields { type { ofType { name } } } }"
    _, _, body = post(host, json.dumps({"query": five}))
    # THEN the request is refused as a whole, and nothing was resolved
    assert body["data"] is None and body["errors"][0]["errorType"] == "QueryDepthLimitExceeded"
    assert StubExecutor.calls == []


def test_resolvers_beyond_the_declared_count_fail_without_running(host):
    # GIVEN a limit of 5 resolvers WHEN a query has 8 aliased resolver fields
    StubExecutor.calls.clear()
    query = "{ " + " ".join(f'a{i}: account(id: "a{i}") {{ id }}' for i in range(8)) + " }"
    _, _, body = post(host, json.dumps({"query": query}))
    # THEN 5 resolve, 3 are refused with a typed error, and only 5 reached the executor
    assert sum(1 for v in body["data"].values() if v is not None) == 5
    refused = [e for e in body["errors"] if e["errorType"] == "ResolverCountLimitExceeded"]
    assert len(refused) == 3 and len(StubExecutor.calls) == 5


class SlowExecutor(StubExecutor):
    """Counts how many of one request's resolvers run at the same time."""

    def __init__(self) -> None:
        self.lock, self.running, self.most = threading.Lock(), 0, 0

    def resolve(self, call):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return FieldOutcome({"id": call.arguments["id"]}, [])


def test_one_request_runs_only_a_few_resolvers_at_once():
    # GIVEN a server whose requests may run 2 resolvers at a time WHEN one asks for 12
    executor = SlowExecutor()
    with stub_server(executor, Limits(fields_in_flight=2)) as running:
        query = "{ " + " ".join(f'a{i}: account(id: "a{i}") {{ id }}' for i in range(12)) + " }"
        status, _, body = post(running.host, json.dumps({"query": query}))
    # THEN all resolve, never more than 2 at once: other requests get worker threads meanwhile
    assert status == 200 and len(body["data"]) == 12 and executor.most == 2


class StuckExecutor(StubExecutor):
    def __init__(self) -> None:
        self.release = threading.Event()

    def resolve(self, call):
        if call.field_name == "publishAccountUpdate":
            self.release.wait(5)
            return FieldOutcome(call.arguments["input"], [])
        return super().resolve(call)


def test_a_request_past_the_execution_limit_fails_and_publishes_nothing_later():
    # GIVEN a publish whose resolver is stuck past the execution limit
    executor = StuckExecutor()
    with stub_server(executor, Limits(execution_timeout_s=0.3)) as running:
        update = {"accountId": "a", "balance": 1, "version": 1, "status": "OPEN", "updatedAt": "2024-01-01T00:00:00Z"}
        document = ("mutation P($i: AccountUpdateInput!) { publishAccountUpdate(input: $i) "
                    "{ accountId balance version status updatedAt } }")
        body = json.dumps({"query": document, "variables": {"i": update}}).encode()
        published: list = []
        hub = running.hubs["acme"]
        original = hub.publish

        async def spy(item):
            published.append(item)
            return await original(item)
        hub.publish = spy
        status, _, answer = post(running.host, body, signed_headers(running.host, "/acme/graphql", body))
        executor.release.set()
        time.sleep(0.2)
    # THEN the caller gets ExecutionTimeout and the late result is never fanned out
    assert status == 200 and answer["errors"][0]["errorType"] == "ExecutionTimeout"
    assert published == []


class FailingExecutor(StubExecutor):
    def resolve(self, call):
        raise RuntimeError("secret internals: table tenant-acme-accounts is on fire")


def test_a_fault_inside_the_twin_reaches_the_client_as_a_generic_error_with_an_id(caplog):
    with stub_server(FailingExecutor()) as running:
        _, _, body = post(running.host, json.dumps({"query": ACCOUNT}))
    error = body["errors"][0]
    assert error["errorType"] == "InternalFailure" and "secret" not in json.dumps(body)
    error_id = error["errorInfo"]["errorId"]
    assert error_id in error["message"]
    assert any(error_id in r.getMessage() and "on fire" in r.getMessage() for r in caplog.records)


def test_a_document_with_more_fields_than_the_twin_validates_is_refused_unvalidated(host):
    # GIVEN a document of 6,000 aliased fields (validating it would take seconds of CPU)
    query = '{ account(id: "a") { ' + " ".join(f"f{i}: id" for i in range(6000)) + " } }"
    # WHEN it is sent THEN it is refused as a whole with a typed error, and nothing ran
    StubExecutor.calls.clear()
    status, _, body = post(host, json.dumps({"query": query}))
    assert status == 200 and body["data"] is None
    assert body["errors"][0]["errorType"] == "QueryTooLarge" and StubExecutor.calls == []
