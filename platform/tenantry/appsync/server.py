"""The local AppSync endpoint: one aiohttp app per process, every tenant under its own prefix.

  POST /<tenant>/graphql             queries and mutations (the modes the API declares)
  OPTIONS /<tenant>/graphql          CORS preflight, answered as AppSync answers it
  GET  /<tenant>/graphql/realtime    AppSync real-time WebSocket protocol
  GET  /                             which tenants are served (a convenience for humans)
  POST /_tenantry/<tenant>/apply     re-apply the tenant's declaration (the local `pulumi up`;
                                     the run's control key only, from dev.json)

A mutation named in `@aws_subscribe` is fanned out to that tenant's subscribers before the HTTP
response is sent, so a caller that publishes in order (the projector) is delivered in order.

Browser-ready as AppSync is: every response allows any origin and exposes AppSync's response
headers; a request that fails as a whole (401, 400, 404) carries `x-amzn-ErrorType`, which
clients such as Amplify read to name the error.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from aiohttp import web

from tenantry.local import activity
from tenantry.local.devstate import CONTROL_KEY_HEADER
from tenantry.appsync.auth import Authenticator, SignedRequest, UnauthorizedError
from tenantry.appsync.graphql_http import TenantGraphQL, request_error
from tenantry.appsync.limits import MAX_JSON_DEPTH, json_depth
from tenantry.appsync.realtime import KEEP_ALIVE_SECONDS, SubscriptionHub, serve_realtime

log = logging.getLogger("tenantry.appsync.server")

MAX_BODY_BYTES = 1024 * 1024
MALFORMED = "MalformedHttpRequestException"
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
# What AppSync clients send (Amplify, Apollo's AppSync links, gql's IAM signer).
CORS_ALLOW_HEADERS = ("content-type", "x-api-key", "authorization", "x-amz-date", "x-amz-security-token",
                      "x-amz-user-agent", "x-amz-content-sha256")
CORS_EXPOSE_HEADERS = ("x-amzn-RequestId", ERROR_TYPE_HEADER, "x-amzn-ErrorMessage", "Date")
CORS_MAX_AGE_S = 86400


class MalformedRequestError(Exception):
    """The body is not a GraphQL request AppSync would execute (HTTP 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TenantApi:
    tenant: str
    authenticator: Authenticator
    graphql: TenantGraphQL
    hub: SubscriptionHub
    api_key: str | None = None          # issued for this run, if the API declares API_KEY


def _json(body: dict, status: int = 200) -> web.Response:
    response = web.Response(text=json.dumps(body, separators=(",", ":")), status=status,
                            content_type="application/json")
    errors = body.get("errors")
    if status != 200 and errors and isinstance(errors[0], dict) and errors[0].get("errorType"):
        response.headers[ERROR_TYPE_HEADER] = errors[0]["errorType"]
    return response


def _unauthorized(reason: str) -> web.Response:
    return _json({"errors": [{"errorType": UnauthorizedError.error_type, "message": reason}]}, 401)


def _malformed(reason: str) -> web.Response:
    return _json({"errors": [request_error(reason, MALFORMED)]}, 400)


def parse_request(raw: bytes) -> tuple[str, dict | None, str | None]:
    """(query, variables, operationName) of a POST body, or `MalformedRequestError`."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedRequestError("Request body must be JSON with a string `query`.") from exc
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise MalformedRequestError("Request body must be JSON with a string `query`.")
    if json_depth(body) > MAX_JSON_DEPTH:
        raise MalformedRequestError(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels.")
    variables, operation = body.get("variables"), body.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        raise MalformedRequestError("`variables` must be a JSON object.")
    if operation is not None and not isinstance(operation, str):
        raise MalformedRequestError("`operationName` must be a string.")
    return body["query"], variables, operation


@web.middleware
async def cors(request: web.Request, handler) -> web.StreamResponse:
    """Any origin, as AppSync allows (its callers authenticate with headers, never cookies)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    if not getattr(response, "prepared", False):    # a WebSocket has sent its headers already
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)
    if isinstance(response, web.HTTPException):
        raise response
    return response


class AppSyncServer:
    def __init__(self, apis: dict[str, TenantApi], keep_alive: float = KEEP_ALIVE_SECONDS,
                 reapply: Callable[[str], dict] | None = None, control_key: str | None = None) -> None:
        self.apis = apis
        self.control_key = control_key
        self.keep_alive = keep_alive
        self.reapply = reapply
        self.app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[cors])
        self.app.add_routes([
            web.get("/", self._index),
            web.post("/{tenant}/graphql", self._graphql),
            web.options("/{tenant}/graphql", self._preflight),
            web.get("/{tenant}/graphql/realtime", self._realtime),
            web.post("/_tenantry/{tenant}/apply", self._apply),
        ])

    def _api(self, request: web.Request) -> TenantApi:
        api = self.apis.get(request.match_info["tenant"])
        if api is None:
            raise web.HTTPNotFound(text=json.dumps({"errors": [request_error(
                f"No API for tenant {request.match_info['tenant']!r}.", "NotFoundException")]}),
                content_type="application/json", headers={ERROR_TYPE_HEADER: "NotFoundException"})
        return api

    async def _index(self, request: web.Request) -> web.Response:
        return _json({"tenants": sorted(self.apis)})

    async def _preflight(self, request: web.Request) -> web.Response:
        self._api(request)
        return web.Response(status=200, headers={
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ", ".join(CORS_ALLOW_HEADERS),
            "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
        })

    async def _graphql(self, request: web.Request) -> web.Response:
        api = self._api(request)
        started = time.perf_counter()
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        request_id = str(uuid.uuid4())
        try:
            caller = await api.authenticator.authenticate(
                SignedRequest("POST", (request.path, "/graphql"), headers, raw, _source_ip(request)))
        except UnauthorizedError as exc:
            activity.graphql(api.tenant, (), started, f"{exc.error_type}: {exc.detail}")
            return _unauthorized(exc.reason)
        try:
            query, variables, operation = parse_request(raw)
        except MalformedRequestError as exc:
            activity.graphql(api.tenant, (), started, f"{MALFORMED}: {exc.reason}")
            return _malformed(exc.reason)
        # AppSync hands resolvers the request id it returns to the caller (x-amzn-RequestId).
        outcome = await api.graphql.execute(query, variables, operation,
                                            caller, {**headers, "x-amzn-requestid": request_id})
        for published in outcome.published:
            await api.hub.publish(published)
        activity.graphql(api.tenant, outcome.fields, started, outcome.summary)
        response = _json(outcome.body)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    async def _apply(self, request: web.Request) -> web.Response:
        """The local `pulumi up` for one tenant (used by `tenantry replay` after a switch)."""
        tenant = request.match_info["tenant"]
        if self.reapply is None or tenant not in self.apis:
            return _json({"error": f"no tenant {tenant!r} to re-apply"}, 404)
        # The run's control key only (random per run, kept in the 0600 dev.json): not a caller of
        # the API (SigV4 proves nothing here, the emulator's IAM credentials are public, and a
        # tenant may have no API key). Beyond loopback (`--allow-remote`) this route is as
        # reachable as the API itself.
        offered = request.headers.get(CONTROL_KEY_HEADER, "")
        if not self.control_key or not hmac.compare_digest(offered.encode(), self.control_key.encode()):
            return _unauthorized("The re-apply route takes the run's control key only.")
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


def _source_ip(request: web.Request) -> str:
    return request.remote or "127.0.0.1"


def build_tenant_api(tenant: str, graphql: TenantGraphQL, authenticator: Authenticator,
                     api_key: str | None = None) -> TenantApi:
    """Wire one tenant's authenticator, executor and subscription hub together."""
    return TenantApi(tenant, authenticator, graphql, SubscriptionHub(graphql), api_key)
