"""The local AppSync endpoint: one aiohttp app per process, every tenant under its own prefix.

  POST /<tenant>/graphql             queries and mutations (API key or SigV4)
  GET  /<tenant>/graphql/realtime    AppSync real-time WebSocket protocol
  GET  /                             which tenants are served (a convenience for humans)
  POST /_tenantry/<tenant>/apply     re-apply the tenant's declaration (the local `pulumi up`;
                                     the tenant's API key only)

A mutation named in `@aws_subscribe` is fanned out to that tenant's subscribers before the HTTP
response is sent, so a caller that publishes in order (the projector) is delivered in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Callable

from aiohttp import web

from tenantry.local.auth import API_KEY, Authenticator, SignedRequest, UnauthorizedError
from tenantry.local.graphql_http import TenantGraphQL, request_error
from tenantry.local.realtime import KEEP_ALIVE_SECONDS, SubscriptionHub, serve_realtime

log = logging.getLogger("tenantry.local.server")

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TenantApi:
    tenant: str
    authenticator: Authenticator
    graphql: TenantGraphQL
    hub: SubscriptionHub


def _json(body: dict, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status,
                        content_type="application/json")


def _unauthorized(reason: str) -> web.Response:
    return _json({"errors": [{"errorType": UnauthorizedError.error_type, "message": reason}]}, 401)


class AppSyncServer:
    def __init__(self, apis: dict[str, TenantApi], keep_alive: float = KEEP_ALIVE_SECONDS,
                 reapply: Callable[[str], dict] | None = None) -> None:
        self.apis = apis
        self.keep_alive = keep_alive
        self.reapply = reapply
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.add_routes([
            web.get("/", self._index),
            web.post("/{tenant}/graphql", self._graphql),
            web.get("/{tenant}/graphql/realtime", self._realtime),
            web.post("/_tenantry/{tenant}/apply", self._apply),
        ])

    def _api(self, request: web.Request) -> TenantApi:
        api = self.apis.get(request.match_info["tenant"])
        if api is None:
            raise web.HTTPNotFound(text=json.dumps({"errors": [request_error(
                f"No API for tenant {request.match_info['tenant']!r}.", "NotFoundException")]}),
                content_type="application/json")
        return api

    async def _index(self, request: web.Request) -> web.Response:
        return _json({"tenants": sorted(self.apis)})

    async def _graphql(self, request: web.Request) -> web.Response:
        api = self._api(request)
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        request_id = str(uuid.uuid4())
        try:
            caller = api.authenticator.authenticate(
                SignedRequest("POST", (request.path, "/graphql"), headers, raw))
        except UnauthorizedError as exc:
            log.info("unauthorized: %s", exc.reason, extra={"tenant_id": api.tenant})
            return _unauthorized(exc.reason)
        try:
            body = json.loads(raw)
            query = body["query"]
            if not isinstance(query, str):
                raise TypeError("query")
        except (ValueError, KeyError, TypeError):
            return _json({"errors": [request_error(
                "Request body must be JSON with a string `query`.", "MalformedHttpRequestException")]}, 400)
        # AppSync hands resolvers the request id it returns to the caller (x-amzn-RequestId).
        outcome = await api.graphql.execute(query, body.get("variables"), body.get("operationName"),
                                            caller, {**headers, "x-amzn-requestid": request_id})
        for published in outcome.published:
            await api.hub.publish(published)
        response = _json(outcome.body)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    async def _apply(self, request: web.Request) -> web.Response:
        """The local `pulumi up` for one tenant (used by `tenantry replay` after a switch)."""
        tenant = request.match_info["tenant"]
        if self.reapply is None or tenant not in self.apis:
            return _json({"error": f"no tenant {tenant!r} to re-apply"}, 404)
        # The tenant's API key only (random per run, kept in the 0600 dev.json). SigV4 is refused:
        # the emulator's IAM credentials are public, so a signature proves nothing here. Beyond
        # loopback (`--allow-remote`) this route is as reachable as the API itself.
        api = self.apis[tenant]
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            caller = api.authenticator.authenticate(
                SignedRequest("POST", (request.path,), headers, await request.read()))
        except UnauthorizedError as exc:
            return _unauthorized(exc.reason)
        if caller.mode != API_KEY:
            return _unauthorized("The re-apply route takes the tenant's API key only.")
        try:
            applied = await asyncio.get_running_loop().run_in_executor(None, self.reapply, tenant)
        except Exception as exc:    # the caller prints it; the server keeps serving the old state
            log.warning("re-apply failed: %s", exc, extra={"tenant_id": tenant})
            return _json({"error": str(exc), "errorType": type(exc).__name__}, 409)
        return _json({"applied": applied})

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        api = self._api(request)
        return await serve_realtime(request, api.tenant, api.authenticator, api.graphql, api.hub,
                                    self.keep_alive)


def build_tenant_api(tenant: str, graphql: TenantGraphQL, api_key: str) -> TenantApi:
    """Wire one tenant's authenticator, executor and subscription hub together."""
    return TenantApi(tenant, Authenticator(tenant, api_key), graphql, SubscriptionHub(graphql))
