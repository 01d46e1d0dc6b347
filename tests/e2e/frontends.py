"""Helpers of the frontend tests: real AppSync clients (Node, a browser) against their own `tenantry dev`.

The Node clients live in `tests/e2e/clients/` (`make install` runs `npm ci` there); the browser
is Debian's Chromium at /usr/bin/chromium (`make install` installs it where it may), driven by
Python playwright. A test whose prerequisite is missing skips and says which and how to get it.

A script gets its inputs in the environment (the list is at the top of tests/e2e/clients/common.mjs):
the tenant's endpoint, the account and the documents, and the caller, a dev user, either as an ID
token the test signed in for (`token_caller`) or as what the script needs to sign in itself
(`sign_in_caller`). It prints one JSON line: what it saw.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e import documents
from tests.e2e.support import (ROOT, DevServer, TenantEndpoint, exit_description, free_port, start_dev,
                               stop_dev, user_token)
from tests.e2e.test_dev_command import project

CLIENTS = ROOT / "tests" / "e2e" / "clients"
CHROMIUM = Path("/usr/bin/chromium")
# Flags Debian's Chromium needs headless here (no sandbox as root; no background traffic on a
# closed network, which otherwise makes it misbehave).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-results"
CLIENT_DEADLINE_MS = 30_000       # the script's own bound; the subprocess is killed a while later
CLIENT_TIMEOUT_S = 60
CLIENT_DOCUMENTS = {"open": documents.OPEN, "deposit": documents.DEPOSIT, "account": documents.GET_ACCOUNT,
                    "onUpdate": documents.ON_UPDATE}


def require_node_clients() -> str:
    """The `node` executable, or skip: no Node, or the client project's packages not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found: install Node.js 20+ and run `make install` to run the JS client tests")
    pins = json.loads((CLIENTS / "package.json").read_text())["dependencies"]
    for name, version in pins.items():
        installed = CLIENTS / "node_modules" / name / "package.json"
        if not installed.exists():
            pytest.skip(f"{CLIENTS.relative_to(ROOT)}/node_modules has no {name}: run `make install` "
                        f"(npm ci --prefix {CLIENTS.relative_to(ROOT)})")
        found = json.loads(installed.read_text())["version"]
        if found != version:
            pytest.skip(f"{CLIENTS.relative_to(ROOT)}/node_modules has {name} {found}, the lock pins "
                        f"{version}: run `make install`")
    return node


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not present: `apt-get install chromium` (as root; `make install` "
                    "does it where it may) to run the browser test")


def serve(tmp: Path, *flags: str) -> Iterator[DevServer]:
    """Body of a module-scoped fixture: a `tenantry dev` of its own, stopped with SIGINT."""
    server = start_dev(tmp, free_port(), *flags)
    try:
        yield server
    finally:
        code = stop_dev(server)
    assert code == 0, f"tenantry dev exited with {exit_description(code)} after SIGINT"


def ca_file(server: DevServer) -> Path:
    assert server.dev_json is not None
    return Path(json.loads(server.dev_json.read_text())["ca_file"])


def token_caller(endpoint: TenantEndpoint, user: str) -> dict[str, str]:
    """The caller as a fresh ID token of `user`, signed in by the test (as `tenantry token` does)."""
    return {"TENANTRY_ID_TOKEN": user_token(endpoint, user)}


def sign_in_caller(endpoint: TenantEndpoint, user: str, auth_flow: str | None = None) -> dict[str, str]:
    """The caller as what a frontend signs `user` in with: the pool, its client, the twin's Cognito
    endpoint, the dev user's credentials, and the auth flow (None: the client library's default)."""
    credentials = endpoint.users[user]
    return {"TENANTRY_USER_POOL_ID": endpoint.user_pool_id, "TENANTRY_USER_POOL_CLIENT_ID": endpoint.user_pool_client_id,
            "TENANTRY_COGNITO_ENDPOINT": endpoint.emulator_url, "TENANTRY_USERNAME": credentials["username"],
            "TENANTRY_PASSWORD": credentials["password"], **({"TENANTRY_AUTH_FLOW": auth_flow} if auth_flow else {})}


def run_client(node: str, script: str, endpoint: TenantEndpoint, account_id: str, server: DevServer,
               caller: dict[str, str], env: dict[str, str] | None = None) -> dict:
    """Runs one client script of tests/e2e/clients/ (bounded) as `caller`; what it printed, as JSON."""
    try:
        done = subprocess.run(
            [node, script], cwd=CLIENTS, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S,
            env={**os.environ, **(env or {}), **caller,
                 "TENANTRY_GRAPHQL_URL": endpoint.graphql_url, "TENANTRY_REGION": endpoint.region,
                 "TENANTRY_ACCOUNT_ID": account_id, "TENANTRY_DOCUMENTS": json.dumps(CLIENT_DOCUMENTS),
                 "TENANTRY_DEADLINE_MS": str(CLIENT_DEADLINE_MS)})
    except subprocess.TimeoutExpired as exc:
        server.assert_alive(wait=10)
        raise AssertionError(f"{script} ran over {CLIENT_TIMEOUT_S}s; stderr:\n{exc.stderr}") from None
    if done.returncode != 0:
        server.assert_alive(wait=10)      # a dead server explains itself first
        raise AssertionError(f"{script} failed ({exit_description(done.returncode)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def readme_js_snippet(marker: str) -> str:
    """The README's ```js block that contains `marker`."""
    blocks = re.findall(r"```js\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"README has {len(found)} js blocks with {marker!r}"
    return found[0]


def run_snippet(node: str, snippet: str, server: DevServer, folder: Path, env: dict[str, str] | None = None) -> dict:
    """Runs a README Node snippet as app.mjs in a project root whose .tenantry/dev.json is `server`'s
    (the client project's node_modules linked in); the JSON of its last line."""
    project(folder, server)
    (folder / "node_modules").symlink_to(CLIENTS / "node_modules", target_is_directory=True)
    (folder / "app.mjs").write_text(snippet)
    done = subprocess.run([node, "app.mjs"], cwd=folder, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        server.assert_alive(wait=10)
        raise AssertionError(f"the README snippet failed ({exit_description(done.returncode)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
