"""The local AppSync server with a stub field executor, on a free port in a background loop.

The stub answers like the AppSync executor would for the fields the server tests use, so those
tests pin what the server itself owns (auth, errors, limits, CORS, fan-out) and nothing else.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tenantry.appsync.executor import FieldCall, FieldOutcome, ResolverError
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR, SCHEMA_FILE
from tenantry.appsync.schema import build_appsync_schema
from tenantry.appsync.auth import Authenticator, ModeAuthenticator
from tenantry.appsync.auth.api_key import ApiKeyAuthenticator, new_api_key
from tenantry.appsync.auth.iam import SigV4Authenticator
from tenantry.appsync.graphql_http import TenantGraphQL
from tenantry.appsync.limits import Limits
from tenantry.appsync.realtime import SubscriptionHub
from tenantry.appsync.server import AppSyncServer, build_tenant_api

TENANTS = ("acme", "globex")
KEYS = {tenant: new_api_key() for tenant in TENANTS}      # per run, as `tenantry dev` issues them
CONTROL_KEY = "control-key-of-this-run"


class StubExecutor:
    """Answers like the AppSync executor would for the fields the tests use."""

    calls: list[FieldCall] = []

    def resolve(self, call: FieldCall) -> FieldOutcome:
        self.calls.append(call)
        if call.field_name == "publishAccountUpdate":
            return FieldOutcome(call.arguments["input"], [])
        if call.field_name == "deposit" and call.arguments["input"]["amount"] > 1000:
            return FieldOutcome(None, [{"message": "not enough", "errorType": "InsufficientFunds",
                                        "data": None, "errorInfo": {"balance": 0}}])
        if call.field_name == "deposit":
            body = call.arguments["input"]
            return FieldOutcome({"accountId": body["accountId"], "version": 2,
                                 "balance": body["amount"], "commandId": body["commandId"]}, [])
        if call.field_name == "account":
            return FieldOutcome({"id": call.arguments["id"], "ownerId": "o", "currency": "EUR",
                                 "balance": 7, "status": "OPEN", "version": 1,
                                 "openedAt": "2024-05-01T10:00:00Z", "updatedAt": "2024-05-01T10:00:00Z"}, [])
        return FieldOutcome(None, [])

    def subscription_filter(self, call: FieldCall) -> dict | None:
        if call.arguments["accountId"] == "forbidden":
            raise ResolverError({"message": "no", "errorType": "Unauthorized", "data": None,
                                 "errorInfo": None, "path": ["onAccountUpdated"], "locations": []})
        return {"filterGroup": [{"filters": [
            {"fieldName": "accountId", "operator": "eq", "value": call.arguments["accountId"]}]}]}




@dataclass(frozen=True)
class StubServer:
    host: str                              # 127.0.0.1:PORT
    hubs: dict[str, SubscriptionHub]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def stub_server(executor: object | None = None, limits: Limits = Limits(),
                token_modes: dict[str, ModeAuthenticator] | None = None) -> Iterator[StubServer]:
    """API key (the default mode) and IAM for every tenant; where a token mode is given, it is
    that tenant's default mode (as users are on a real tenant's API)."""
    schema_sdl = (RESOLVER_DIR / SCHEMA_FILE).read_text()
    threads = ThreadPoolExecutor(8)
    resolved = {(r.type_name, r.field_name) for r in API_SPEC.resolvers}
    apis = {}
    for tenant in TENANTS:
        modes = [ApiKeyAuthenticator(tenant, KEYS[tenant]), SigV4Authenticator(tenant)]
        if token_modes and tenant in token_modes:
            modes.insert(0, token_modes[tenant])
        authenticator = Authenticator(tenant, tuple(modes))
        graphql = TenantGraphQL(tenant, build_appsync_schema(schema_sdl), resolved,
                                executor or StubExecutor(), threads, authenticator.default_mode, limits)
        apis[tenant] = build_tenant_api(tenant, graphql, authenticator, KEYS[tenant])
    app_server = AppSyncServer(apis, keep_alive=0.2, reapply=lambda tenant: {"reapplied": tenant},
                               control_key=CONTROL_KEY)
    port = _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app_server.app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield StubServer(f"127.0.0.1:{port}", {tenant: api.hub for tenant, api in apis.items()})
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        threads.shutdown(wait=False)


def signed_headers(host: str, path: str, body: bytes) -> dict:
    """Headers of a request SigV4-signed with the emulator's (public) credentials."""
    request = AWSRequest(method="POST", url=f"http://{host}{path}", data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "appsync", "us-east-1").add_auth(request)
    return dict(request.headers)
