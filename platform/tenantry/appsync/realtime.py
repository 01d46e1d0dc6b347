"""AppSync's real-time WebSocket protocol, for one tenant per URL.

Protocol (what AppSync speaks and gql's AppSyncWebsocketsTransport expects):
  client: connect with subprotocol `graphql-ws`; auth headers in `?header=<base64 JSON>&payload=e30=`
          or in a `header-<base64url JSON>` subprotocol
  client: {"type":"connection_init"}        server: {"type":"connection_ack","payload":{"connectionTimeoutMs":N}}
                                            server: {"type":"ka"} right away, then periodically
  client: {"type":"start","id",...,"payload":{"data":"<JSON {query,variables}>",
           "extensions":{"authorization":{headers}}}}
                                            server: {"type":"start_ack","id"} | {"type":"error","id",...}
                                            server: {"type":"data","id","payload":{"data":{...}}}
  client: {"type":"stop","id"}              server: {"type":"complete","id"}
Bad connection credentials -> `connection_error` (UnauthorizedException, errorCode 401), then close.
A `start` before the connection is acknowledged (no `connection_init` yet, or a handshake whose
credentials failed) gets an `error` and no subscription: AppSync authorizes a subscription only on
an acknowledged connection, whatever the `start` itself carries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from tenantry.appsync.filters import filter_matches
from tenantry.appsync.auth import Authenticator, Caller, SignedRequest, UnauthorizedError
from tenantry.appsync.graphql_http import (
    Published,
    SubscriptionRefusedError,
    SubscriptionRequest,
    TenantGraphQL,
    request_error,
)

log = logging.getLogger("tenantry.appsync.realtime")

SUBPROTOCOL = "graphql-ws"
CONNECTION_TIMEOUT_MS = 300_000
KEEP_ALIVE_SECONDS = 60.0
_connection_ids = itertools.count(1)


def _b64_json(text: str) -> dict:
    padded = text + "=" * (-len(text) % 4)
    try:
        decoded = base64.b64decode(padded, altchars=b"-_" if ("-" in text or "_" in text) else None)
        value = json.loads(decoded)
    except (binascii.Error, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def handshake_headers(request: web.Request) -> dict[str, str]:
    """Auth headers of the connection: the `header` query parameter or a `header-` subprotocol."""
    if "header" in request.query:
        return {k: str(v) for k, v in _b64_json(request.query["header"]).items()}
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    for protocol in (p.strip() for p in offered.split(",")):
        if protocol.startswith("header-"):
            return {k: str(v) for k, v in _b64_json(protocol[len("header-"):]).items()}
    return {}


@dataclass
class _Active:
    connection: "Connection"
    id: str
    request: SubscriptionRequest


class SubscriptionHub:
    """Live subscriptions of one tenant; fans published mutation results out to them."""

    def __init__(self, graphql: TenantGraphQL) -> None:
        self._graphql = graphql
        self._active: dict[tuple[int, str], _Active] = {}

    def has(self, connection: "Connection", sub_id: str) -> bool:
        return (connection.number, sub_id) in self._active

    def add(self, active: _Active) -> None:
        self._active[(active.connection.number, active.id)] = active

    def remove(self, connection: "Connection", sub_id: str) -> bool:
        return self._active.pop((connection.number, sub_id), None) is not None

    def drop(self, connection: "Connection") -> None:
        for key in [k for k in self._active if k[0] == connection.number]:
            del self._active[key]

    def __len__(self) -> int:
        return len(self._active)

    def _matches(self, request: SubscriptionRequest, payload: dict) -> bool:
        # AppSync: subscription arguments filter on the same-named fields of the mutation result.
        for name, value in request.arguments.items():
            if value is not None and payload.get(name) != value:
                return False
        return request.filter is None or filter_matches(request.filter, payload)

    async def publish(self, published: Published) -> int:
        targets = self._graphql.subscriptions_for.get(published.mutation, ())
        delivered = 0
        for active in list(self._active.values()):
            if active.request.field_name not in targets or not self._matches(active.request, published.payload):
                continue
            body = self._graphql.render(active.request, published.payload)
            if await active.connection.send({"type": "data", "id": active.id, "payload": body}):
                delivered += 1
        return delivered


class Connection:
    """One WebSocket client of one tenant's real-time endpoint."""

    def __init__(self, ws: web.WebSocketResponse, authenticator: Authenticator,
                 graphql: TenantGraphQL, hub: SubscriptionHub, keep_alive: float) -> None:
        self.number = next(_connection_ids)
        self._ws = ws
        self._auth = authenticator
        self._graphql = graphql
        self._hub = hub
        self._keep_alive = keep_alive
        self._send_lock = asyncio.Lock()
        self._ka_task: asyncio.Task | None = None
        self._source_ip = "127.0.0.1"
        self.acknowledged = False

    async def send(self, message: dict) -> bool:
        if self._ws.closed:
            return False
        async with self._send_lock:
            try:
                await self._ws.send_str(json.dumps(message, separators=(",", ":")))
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def serve(self, handshake: dict[str, str], paths: tuple[str, ...], source_ip: str) -> None:
        caller: Caller | None = None
        failure: UnauthorizedError | None = None
        self._source_ip = source_ip
        try:
            caller = await self._auth.authenticate(SignedRequest(
                "POST", tuple(f"{p}/connect" for p in paths), handshake, b"{}", source_ip))
        except UnauthorizedError as exc:
            failure = exc
            log.info("realtime connection %s refused: %s", self.number, exc.detail,
                     extra={"tenant_id": exc.tenant})
        try:
            async for message in self._ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    await self.send({"type": "error", "payload": {"errors": [request_error(
                        "Message is not valid JSON.", "MalformedMessage")]}})
                    continue
                if not isinstance(frame, dict):
                    continue
                if not await self._handle(frame, caller, failure, paths):
                    break
        finally:
            if self._ka_task:
                self._ka_task.cancel()
            self._hub.drop(self)

    async def _handle(self, frame: dict, caller: Caller | None,
                      failure: UnauthorizedError | None, paths: tuple[str, ...]) -> bool:
        kind = frame.get("type")
        if kind == "connection_init":
            if failure is not None:
                await self.send({"type": "connection_error", "payload": {"errors": [
                    {"errorType": failure.error_type, "message": failure.reason, "errorCode": 401}]}})
                await self._ws.close()
                return False
            if self.acknowledged:
                return True
            self.acknowledged = True
            await self.send({"type": "connection_ack",
                             "payload": {"connectionTimeoutMs": CONNECTION_TIMEOUT_MS}})
            await self.send({"type": "ka"})
            self._ka_task = asyncio.create_task(self._keep_alive_loop())
        elif kind == "start" and not self.acknowledged:
            await self._refuse_unacknowledged(str(frame.get("id")), failure)
        elif kind == "start":
            await self._start(frame, paths)
        elif kind == "stop":
            sub_id = str(frame.get("id"))
            self._hub.remove(self, sub_id)
            await self.send({"type": "complete", "id": sub_id})
        elif kind == "connection_terminate":
            await self._ws.close()
            return False
        return True

    async def _start(self, frame: dict, paths: tuple[str, ...]) -> None:
        sub_id = str(frame.get("id"))
        payload = frame.get("payload") or {}
        data = payload.get("data") or ""
        authorization = (payload.get("extensions") or {}).get("authorization") or {}
        try:
            caller = await self._auth.authenticate(SignedRequest(
                "POST", paths, {k: str(v) for k, v in authorization.items()}, data.encode(),
                self._source_ip))
        except UnauthorizedError as exc:
            await self._error(sub_id, [{"errorType": exc.error_type, "message": exc.reason}])
            return
        if self._hub.has(self, sub_id):
            await self._error(sub_id, [request_error(
                f"Subscription id {sub_id} is already in use.", "DuplicatedOperationError")])
            return
        try:
            request = json.loads(data)
            query, variables = request["query"], request.get("variables")
        except (ValueError, KeyError, TypeError):
            await self._error(sub_id, [request_error("payload.data must be a JSON string of "
                                                     "{query, variables}.", "MalformedMessage")])
            return
        try:
            subscription = await self._graphql.prepare_subscription(
                query, variables, request.get("operationName"), caller, authorization)
        except SubscriptionRefusedError as exc:
            await self._error(sub_id, exc.errors)
            return
        self._hub.add(_Active(self, sub_id, subscription))
        await self.send({"type": "start_ack", "id": sub_id})

    async def _refuse_unacknowledged(self, sub_id: str, failure: UnauthorizedError | None) -> None:
        # The start's own authorization must not stand in for a handshake that failed or never ran.
        if failure is not None:
            await self._error(sub_id, [{"errorType": failure.error_type, "message": failure.reason,
                                        "errorCode": 401}])
        else:
            await self._error(sub_id, [{"errorType": "BadRequestException", "errorCode": 400,
                                        "message": "Subscription requested before the connection was "
                                                   "acknowledged: send connection_init first."}])

    async def _error(self, sub_id: str, errors: list[dict]) -> None:
        await self.send({"type": "error", "id": sub_id, "payload": {"errors": errors}})

    async def _keep_alive_loop(self) -> None:
        while not self._ws.closed:
            await asyncio.sleep(self._keep_alive)
            await self.send({"type": "ka"})


async def serve_realtime(request: web.Request, tenant: str, authenticator: Authenticator,
                         graphql: TenantGraphQL, hub: SubscriptionHub,
                         keep_alive: float = KEEP_ALIVE_SECONDS) -> web.WebSocketResponse:
    handshake = handshake_headers(request)
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), heartbeat=None)
    await ws.prepare(request)
    # Clients sign the real-time requests against the AppSync paths (`/graphql[/connect]`);
    # the tenant-prefixed path is accepted too for clients that sign the URL they call.
    paths = ("/graphql", f"/{tenant}/graphql")
    connection = Connection(ws, authenticator, graphql, hub, keep_alive)
    log.debug("realtime connection %s opened", connection.number, extra={"tenant_id": tenant})
    await connection.serve(handshake, paths, request.remote or "127.0.0.1")
    return ws

