"""The console's routes: the page carries the tenant's endpoints and dev users, only GraphiQL's and
React's release files are served from node_modules, and the session route signs dev users in."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tenantry import console
from tenantry.console import ConsoleTenant, Credential, DevUserView, UnknownDevUserError

pytestmark = pytest.mark.functional

USERS = (DevUserView("alice"), DevUserView("ops", ("admins",)))


async def sign_in(user: str) -> Credential:
    if user not in {u.name for u in USERS}:
        raise UnknownDevUserError("acme", user)
    return Credential(token=f"token-of-{user}", sub=f"sub-{user}", groups=("admins",) if user == "ops" else ())


def call(consoles: dict, requests):
    """Serve the console routes, run `requests(http, base)`, return its result."""
    async def go():
        app = web.Application()
        app.add_routes(console.routes(consoles))
        server = TestServer(app)
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http:
                return await requests(http, str(server.make_url("")).rstrip("/"))
        finally:
            await server.close()
    return asyncio.run(go())


CONSOLES = {"acme": ConsoleTenant("acme", USERS, sign_in),
            "sandy": ConsoleTenant("sandy", USERS, sign_in, api_key="da2-sandbox")}


def test_the_page_names_the_tenants_endpoints_and_dev_users():
    # WHEN a browser opens acme's console
    async def requests(http, base):
        async with http.get(f"{base}/acme/") as r:
            return r.status, r.headers["content-type"], await r.text()
    status, content_type, html = call(CONSOLES, requests)
    # THEN it gets the page, configured for acme's GraphQL and real-time URLs and its dev users
    assert status == 200 and content_type.startswith("text/html")
    config = json.loads(re.search(r'<script type="application/json" id="config">(.*?)</script>', html, re.S)[1])
    assert config["graphqlUrl"].endswith("/acme/graphql") and config["graphqlUrl"].startswith("http://")
    assert config["realtimeUrl"] == config["graphqlUrl"].replace("http://", "ws://") + "/realtime"
    assert config["devUsers"] == [{"name": "alice", "groups": []}, {"name": "ops", "groups": ["admins"]}]
    assert config["apiKey"] is False and "__" not in html


def test_only_release_files_are_served_from_node_modules():
    async def requests(http, base):
        answers = {}
        for path in ("/_console/vendor/graphiql/graphiql.min.js", "/_console/vendor/graphiql/package.json",
                     "/_console/vendor/react/../graphiql/package.json", "/_console/main.js",
                     "/_console/../__init__.py", "/nosuch/"):
            async with http.get(base + path) as r:
                answers[path] = r.status
        return answers
    answers = call(CONSOLES, requests)
    expected_graphiql = 200 if console.installed() else 404
    assert answers == {"/_console/vendor/graphiql/graphiql.min.js": expected_graphiql,
                       "/_console/vendor/graphiql/package.json": 404,
                       "/_console/vendor/react/../graphiql/package.json": 404,
                       "/_console/main.js": 200, "/_console/../__init__.py": 404, "/nosuch/": 404}


def test_the_session_route_signs_dev_users_in_and_hands_out_keys_only_where_enabled():
    async def requests(http, base):
        answers = []
        for tenant, body in (("acme", {"user": "ops"}), ("acme", {"user": "mallory"}),
                             ("acme", {"apiKey": True}), ("sandy", {"apiKey": True}), ("acme", [1])):
            async with http.post(f"{base}/_tenantry/{tenant}/console/session", json=body) as r:
                answers.append((r.status, await r.json()))
        return answers
    ops, mallory, no_key, key, junk = call(CONSOLES, requests)
    assert ops == (200, {"token": "token-of-ops", "sub": "sub-ops", "groups": ["admins"]})
    assert mallory[0] == 404 and "mallory" in mallory[1]["message"]
    assert no_key[0] == 404                       # acme has no key: asked as user "", who does not exist
    assert key == (200, {"apiKey": "da2-sandbox"})
    assert junk[0] == 400
