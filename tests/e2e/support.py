"""Helpers of the e2e suite and the benchmark: `tenantry dev` as a subprocess, gql clients.

Callers are the tenants' dev users (alice, bob, ops in admins: `dev.users` of the tenant files),
signed in at the dev server's Cognito endpoint (the embedded emulator) as `tenantry token` signs
them in: `auth_headers(tenant, user)` for raw HTTP, `Api(tenant, user)` and
`realtime_transport(tenant, user)` for gql. The example tenants declare no API key.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncJWTAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport

ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 120      # a generous ceiling for a loaded CI box, not a performance check
TENANTS = ("acme", "globex")
TENANTRY = [str(Path(sys.executable).with_name("tenantry"))]     # the installed console script


USERS = ("alice", "bob", "ops")         # the default dev users; ops is in admins
TOKEN_REUSE_S = 30 * 60                 # dev tokens live an hour: sign in again well before


@dataclass(frozen=True)
class TenantEndpoint:
    name: str
    graphql_url: str
    realtime_url: str
    emulator_url: str                   # the dev server's Cognito endpoint
    region: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    issuer: str = ""
    users: dict = field(default_factory=dict, hash=False)   # dev user -> username, password, sub, groups
    api_key: str | None = None          # only where the tenant enables one
    archive_bucket: str = ""           # the declared (autonamed) archive bucket

    @property
    def host(self) -> str:
        return self.graphql_url.split("/")[2]

    def sub(self, user: str) -> str:
        return self.users[user]["sub"]


def endpoint_from(name: str, values: dict, emulator_url: str) -> TenantEndpoint:
    known = {f for f in TenantEndpoint.__dataclass_fields__ if f not in ("name", "emulator_url")}
    return TenantEndpoint(name, emulator_url=emulator_url, **{k: v for k, v in values.items() if k in known})


_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def user_tokens(tenant: TenantEndpoint, user: str) -> dict[str, str]:
    """A dev user's fresh tokens (IdToken, AccessToken), signed in as `tenantry token` does."""
    import boto3

    from tenantry.local.devusers import sign_in
    from tenantry.local.emulator import FAKE_CREDENTIALS

    credentials = tenant.users[user]
    idp = boto3.session.Session().client("cognito-idp", region_name=tenant.region,
                                         endpoint_url=tenant.emulator_url, **FAKE_CREDENTIALS)
    return sign_in(idp, tenant.user_pool_id, tenant.user_pool_client_id,
                   credentials["username"], credentials["password"])


def user_token(tenant: TenantEndpoint, user: str, kind: str = "IdToken") -> str:
    """A dev user's token, reused for a while (signing in costs a round trip to the emulator)."""
    key = (tenant.graphql_url, user, kind)
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached is not None and time.monotonic() - cached[1] < TOKEN_REUSE_S:
            return cached[0]
    token = user_tokens(tenant, user)[kind]
    with _tokens_lock:
        _tokens[key] = (token, time.monotonic())
    return token


def auth_headers(tenant: TenantEndpoint, user: str = "alice") -> dict[str, str]:
    """What a signed-in frontend sends: the user's ID token, raw, in `Authorization`."""
    return {"Authorization": user_token(tenant, user)}


LAST_LINES = 60


class DevServerDiedError(AssertionError):
    """`tenantry dev` is gone: says how (exit code or signal) and what it printed last."""

    def __init__(self, returncode: int, output: list[str]) -> None:
        self.returncode = returncode
        self.output = output
        super().__init__(f"tenantry dev died with {exit_description(returncode)}; its last output:\n"
                         + "\n".join(last_words(output)))


def last_words(output: list[str]) -> list[str]:
    """The end of the output; from a native crash's "Fatal Python error" on, all thread stacks
    with it (the crashing thread is the one marked "Current thread")."""
    fatal = [i for i, line in enumerate(output) if line.startswith("Fatal Python error")]
    start = max(0, len(output) - LAST_LINES) if not fatal else max(0, fatal[-1] - 10)
    return output[start:start + 1000]


def exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name} ({returncode})"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class DevServer:
    process: subprocess.Popen
    output: list[str]
    tenants: dict[str, TenantEndpoint]
    emulator_url: str | None = None
    dev_json: Path | None = None

    def assert_alive(self, wait: float = 0.0) -> None:
        """Raise `DevServerDiedError` if the server has exited (so a test never just sees
        'connection refused'). `wait`: after a dropped connection, how long a dying server may
        take to be gone (a native crash first prints every thread's stack)."""
        if wait:
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is not None:
            self.process.wait()
            time.sleep(0.2)         # let the output pump read the last lines (a native crash's stacks)
            raise DevServerDiedError(self.process.returncode, self.output)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pump(stream, lines: list[str], ready: threading.Event) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        if line.strip() == "ready":
            ready.set()


def start_dev(tmp: Path, port: int, *extra: str, cwd: Path = ROOT, env: dict | None = None,
              state_dir: Path | None = None) -> DevServer:
    """Kept state goes to `state_dir` (default: `tmp`/state), never to the checkout's .tenantry/."""
    dev_json = tmp / "dev.json"
    process = subprocess.Popen(
        [*TENANTRY, "dev", "--port", str(port), "--dev-json", str(dev_json),
         "--state-dir", str(state_dir or tmp / "state"), *extra],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # faulthandler: a native crash (SIGSEGV in V8, say) prints every thread's stack first.
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1", **(env or {})},
    )
    lines: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_pump, args=(process.stdout, lines, ready), daemon=True).start()
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while not ready.wait(0.1):
        if process.poll() is not None:
            time.sleep(0.2)
            raise DevServerDiedError(process.returncode, lines)
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("tenantry dev did not become ready:\n" + "\n".join(lines))
    document = json.loads(dev_json.read_text())
    tenants = {name: endpoint_from(name, values, document["emulator_url"])
               for name, values in document["tenants"].items()}
    return DevServer(process, lines, tenants, document.get("emulator_url"), dev_json)


def stop_dev(server: DevServer, timeout: float = 30) -> int:
    """SIGINT, as Ctrl-C does; the exit code (a negative signal number if it crashed meanwhile)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
    try:
        return server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        raise AssertionError(f"tenantry dev ignored SIGINT for {timeout}s; its last output:\n"
                             + "\n".join(server.output[-LAST_LINES:])) from None


def copy_project(target: Path, standby: bool = True) -> Path:
    """A throwaway project root (for anything that rewrites a tenant file): the stack and tenant
    files copied, the Lambda sources linked; acme gets a standby read-model slot if asked."""
    target.mkdir(parents=True, exist_ok=True)
    for stack in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(stack, target / stack.name)
    shutil.copytree(ROOT / "tenants", target / "tenants")
    (target / "lambdas").symlink_to(ROOT / "lambdas", target_is_directory=True)
    if standby:
        acme = target / "tenants" / "acme.yaml"
        text = acme.read_text()
        assert "  standby: false\n" in text, "tenants/acme.yaml should show its read_models block"
        acme.write_text(text.replace("  standby: false\n", "  standby: true\n"))
    return target


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def http_transport(endpoint: TenantEndpoint, user: str = "alice", ssl: Any = None,
                   headers: dict | None = None) -> AIOHTTPTransport:
    """gql's HTTP transport as `user` (`headers` replace the user's, e.g. another tenant's token)."""
    extra = {"ssl": ssl} if ssl is not None else {}
    return AIOHTTPTransport(url=endpoint.graphql_url, headers=headers or auth_headers(endpoint, user), **extra)


class Api:
    """Synchronous helpers over gql's AIOHTTPTransport, for one tenant and one caller."""

    def __init__(self, endpoint: TenantEndpoint, user: str = "alice", headers: dict | None = None) -> None:
        self.endpoint = endpoint
        self.user = user
        self.headers = headers

    @property
    def sub(self) -> str:
        return self.endpoint.sub(self.user)

    async def aexecute(self, query: str, variables: dict | None = None) -> dict:
        transport = http_transport(self.endpoint, self.user, headers=self.headers)
        async with Client(transport=transport) as session:
            return await session.execute(GraphQLRequest(query, variable_values=variables))

    def execute(self, query: str, variables: dict | None = None) -> dict:
        return asyncio.run(self.aexecute(query, variables))


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    """Read-model queries see the projector's work asynchronously: poll until it is there."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached; last value: {value!r}")
        time.sleep(0.05)
        value = read()
    return value


class AckedAppSyncTransport(AppSyncWebsocketsTransport):
    """gql's AppSync transport, unchanged on the wire; records `start_ack` so a test knows when
    the subscription is live before it causes the update."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acked = asyncio.Event()

    def _parse_answer(self, answer: str):
        parsed = super()._parse_answer(answer)
        if parsed[0] == "start_ack":
            self.acked.set()
        return parsed


def realtime_transport(endpoint: TenantEndpoint, user: str = "alice", ssl: Any = None,
                       token: str | None = None) -> AckedAppSyncTransport:
    """gql's AppSync WebSocket transport with its JWT auth, as `user` (or with `token`)."""
    extra = {"ssl": ssl} if ssl is not None else {}
    return AckedAppSyncTransport(
        url=endpoint.realtime_url,
        auth=AppSyncJWTAuthentication(host=endpoint.host, jwt=token or user_token(endpoint, user)), **extra)


PROJECT_PARTS = ("platform", "lambdas", "resolvers", "tenants", "schemas", "__main__.py", "Pulumi.yaml",
                 "Pulumi.acme.yaml", "Pulumi.globex.yaml", "pyproject.toml")


def copy_whole_project(target: Path) -> tuple[Path, dict[str, str]]:
    """A throwaway copy of the whole project, code included, for tests that edit its code (hot
    reload), and the environment that makes `tenantry dev` run that copy's `tenantry`, `lambdas`
    and resolvers instead of this checkout's (PYTHONPATH comes before the editable install)."""
    target.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns("__pycache__", "node_modules", "*.egg-info", ".tenantry")
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=skip)
        elif source.is_file():
            shutil.copy(source, target / part)
    return target, {"PYTHONPATH": os.pathsep.join([str(target / "platform"), str(target)])}
