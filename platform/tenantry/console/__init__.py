"""The console `tenantry dev` serves per tenant at `/<tenant>/`: GraphiQL with the tenant's schema,
sign-in as a dev user, and an accounts page with live balances and time travel.

Everything it needs is on this machine: the page and its plain ES modules live in `static/`; GraphiQL
and React are their npm release files (`package.json` here, installed by `make install`), served as
they are, with no build step. The page calls the tenant's GraphQL API exactly as any frontend does;
the one dev-only route is `POST /_tenantry/<tenant>/console/session`, which hands the page a fresh
token of a dev user (or the API key of a sandbox tenant), as `tenantry token` does on the command line.

    GET  /<tenant>/                           the console page
    GET  /_console/<file>                     its modules and style
    GET  /_console/vendor/<package>/<file>    GraphiQL, React, ReactDOM release files
    POST /_tenantry/<tenant>/console/session  {"user": "alice"} or {"apiKey": true} -> credential
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"
ASSETS = "/_console"
# Only these packages' release files are served (never the rest of node_modules).
VENDOR_FILES = {
    "graphiql": ("graphiql.min.js", "graphiql.min.css"),
    "react": ("umd/react.production.min.js",),
    "react-dom": ("umd/react-dom.production.min.js",),
}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


class UnknownDevUserError(Exception):
    def __init__(self, tenant: str, user: str) -> None:
        super().__init__(f"{tenant} has no dev user {user!r}")
        self.tenant, self.user = tenant, user


@dataclass(frozen=True)
class Credential:
    """What the page sends with each request: a user's token, or the API key."""
    token: str | None = None
    sub: str | None = None
    groups: tuple[str, ...] = ()
    api_key: str | None = None

    def as_json(self) -> dict:
        if self.api_key is not None:
            return {"apiKey": self.api_key}
        return {"token": self.token, "sub": self.sub, "groups": list(self.groups)}


@dataclass(frozen=True)
class DevUserView:
    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsoleTenant:
    tenant: str
    dev_users: Sequence[DevUserView]
    sign_in: Callable[[str], Awaitable[Credential]]       # dev user name -> a fresh credential
    api_key: str | None = None                             # only where the tenant enables one
    events_url: str | None = None                          # server-sent reload events, if served


def installed() -> bool:
    return all((NODE_MODULES / package / name).is_file() for package, names in VENDOR_FILES.items()
               for name in names)


def page(console: ConsoleTenant, request: web.Request) -> str:
    scheme = "https" if request.secure else "http"
    base = f"{scheme}://{request.host}/{console.tenant}/graphql"
    config = {
        "tenant": console.tenant,
        "graphqlUrl": base,
        "realtimeUrl": base.replace("http", "ws", 1) + "/realtime",
        "devUsers": [{"name": u.name, "groups": list(u.groups)} for u in console.dev_users],
        "apiKey": console.api_key is not None,
        "sessionUrl": f"/_tenantry/{console.tenant}/console/session",
        "eventsUrl": console.events_url,
        "graphiqlInstalled": installed(),
    }
    # `</` cannot end the JSON's <script> element early.
    embedded = json.dumps(config).replace("</", "<\\/")
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return html.replace("__CONFIG__", embedded).replace("__TENANT__", console.tenant).replace("__ASSETS__", ASSETS)


def routes(consoles: Mapping[str, ConsoleTenant]) -> list[web.RouteDef]:
    async def index(request: web.Request) -> web.StreamResponse:
        console = consoles.get(request.match_info["tenant"])
        if console is None:
            raise web.HTTPNotFound(text=f"no tenant {request.match_info['tenant']!r} here")
        return web.Response(text=page(console, request), content_type="text/html")

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC / name
        if "/" in name or not path.is_file() or path.suffix not in CONTENT_TYPES:
            raise web.HTTPNotFound()
        return _file(path)

    async def vendor(request: web.Request) -> web.StreamResponse:
        package, name = request.match_info["package"], request.match_info["name"]
        if name not in VENDOR_FILES.get(package, ()):
            raise web.HTTPNotFound()
        path = NODE_MODULES / package / name
        if not path.is_file():
            raise web.HTTPNotFound(text=f"{package} is not installed: run `make install` (it needs npm)")
        return _file(path)

    async def session(request: web.Request) -> web.StreamResponse:
        console = consoles.get(request.match_info["tenant"])
        if console is None:
            raise web.HTTPNotFound()
        try:
            asked = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"message": "expected a JSON body"}, status=400)
        if not isinstance(asked, dict):
            return web.json_response({"message": "expected a JSON object"}, status=400)
        if asked.get("apiKey") is True and console.api_key is not None:
            return web.json_response(Credential(api_key=console.api_key).as_json())
        try:
            credential = await console.sign_in(str(asked.get("user", "")))
        except UnknownDevUserError as exc:
            return web.json_response({"message": str(exc)}, status=404)
        return web.json_response(credential.as_json())

    return [
        web.get("/{tenant}/", index),
        web.get(ASSETS + "/{name}", asset),
        web.get(ASSETS + "/vendor/{package}/{name:.+}", vendor),
        web.post("/_tenantry/{tenant}/console/session", session),
    ]


def _file(path: Path) -> web.FileResponse:
    return web.FileResponse(path, headers={"content-type": CONTENT_TYPES[path.suffix], "cache-control": "no-cache"})
