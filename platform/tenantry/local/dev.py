"""`tenantry dev`: every tenant's platform, offline, in one process.

Start-up, in this order, so each step can rely on the previous one:
1. bind the API port (a busy port fails here, before anything slow happens); remove what a run
   that is gone left behind (`tenantry.local.devstate`);
2. start the AWS emulator (moto) on a free loopback port;
3. per tenant: evaluate the Pulumi program under the mock runtime (`tenantry.mocks.declare`),
   create what it declares in the emulator (`tenantry.local.applier.apply`), restore its kept
   event log and rebuild its read models from it (`tenantry.local.state`; `--fresh` discards the
   kept state first), each step printed with the time it took;
4. serve every tenant's AppSync API from the declared schema, data sources and resolver code
   (over TLS with `--tls`: a local CA, `tenantry.local.tls`), and its console at `/<tenant>/`
   (`tenantry.console`: GraphiQL, sign-in as a dev user, accounts with live balances);
5. start the event source mapping pollers (the projector publishes back into step 4's server);
   and seed each tenant's dev users (`dev.users` of its tenant file) in its user pool, each with
   the `sub` it had in earlier runs (`tenantry.local.state.users`);
6. print the endpoints and dev users, write `.tenantry/dev.json`, print `ready`.
Edits under resolvers/ and lambdas/ serve from the next request or batch; a tenant file or schema
edit says what it needs (`tenantry.local.reload`; off with `--no-reload`). What reloaded is also
an event stream, `GET /_tenantry/events` (`tenantry.local.reload_events`).
Ctrl-C / SIGTERM stop everything in reverse order and exit 0; the first signal always stops it
(`tenantry.local.shutdown`). While it runs, one line per GraphQL operation and per Lambda batch
(`tenantry.local.activity`; `--log-format json` for machine-readable lines).

Beyond loopback the emulator is a liability: its IAM credentials are public (anyone can sign
`publishAccountUpdate`), so a non-loopback `--host` needs `--allow-remote`. API keys (where a tenant
declares one), dev users' passwords and the control key of the re-apply route are random per run,
and dev.json (which holds them) is written owner-only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import gc
import ipaddress
import secrets
import shutil
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, TextIO

from aiohttp import web

from tenantry.local import activity, devstate, devusers, wiring
from tenantry import console
from tenantry.local.consoles import console_tenants
from tenantry.local.reload_events import EVENTS_PATH, ReloadEvents
from tenantry.local.devstate import DEV_JSON, STATE_DIR, write_dev_json
from tenantry.local.state import DevState, StateInUseError
from tenantry.appsync.server import AppSyncServer, TenantApi
from tenantry.local.shutdown import Shutdown, StopRequested

if TYPE_CHECKING:
    from tenantry.local.tls import LocalTLS

__all__ = ["DEV_JSON", "DevOptions", "Endpoints", "run", "write_dev_json"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PORT_IN_USE = 2
EXIT_REMOTE_REFUSED = 2
WORKER_THREADS = 32      # resolver calls block (botocore, in-process Lambdas); V8 has its own lanes
TLS_DIR = Path(".tenantry") / "tls"
QUIET_LAMBDA_ENV = {"POWERTOOLS_METRICS_DISABLED": "true"}


@dataclass(frozen=True)
class DevOptions:
    root: Path
    tenants: tuple[str, ...] = ()        # empty = every tenant of tenants/
    host: str = "127.0.0.1"
    port: int = 4000
    dev_json: Path | None = None         # default: <root>/.tenantry/dev.json
    allow_remote: bool = False           # serve a non-loopback host despite the public IAM credentials
    tls: bool = False                    # https:// and wss:// with a local CA (Amplify needs wss://)
    log_format: str = "text"             # text | json (activity.FORMATS)
    reload: bool = True                  # hot reload of resolvers/ and lambdas/ (tenantry.local.reload)
    fresh: bool = False                  # discard the kept state (event logs) and start empty
    state_dir: Path | None = None        # default: <root>/.tenantry/state


@dataclass(frozen=True)
class Endpoints:
    """What dev.json says of one tenant (None fields are left out)."""
    graphql_url: str
    realtime_url: str
    api_key: str | None = None             # only if the API declares API_KEY
    region: str | None = None
    user_pool_id: str | None = None        # the emulator's ids (Amplify's userPoolId, ...)
    user_pool_client_id: str | None = None
    issuer: str | None = None
    users: dict[str, dict] = field(default_factory=dict)    # dev user -> username, password, sub
    # The declared archive bucket (Pulumi autonames it): for `tenantry replay` / `redrive` locally.
    archive_bucket: str = ""


class PortInUseError(Exception):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"{host}:{port} is already in use")
        self.host = host
        self.port = port


class BindError(Exception):
    """Any other reason the API address cannot be listened on (unknown host, address not local)."""

    def __init__(self, host: str, port: int, reason: str, error_code: int | None = None) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason
        self.error_code = error_code      # errno of the failed bind, if it got that far


def url_host(host: str) -> str:
    """`host` as it goes in a URL: an IPv6 literal is bracketed."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def endpoints(tenant: str, host: str, port: int, tls: bool = False) -> Endpoints:
    base = f"{url_host(host)}:{port}"
    http, ws = ("https", "wss") if tls else ("http", "ws")
    return Endpoints(f"{http}://{base}/{tenant}/graphql", f"{ws}://{base}/{tenant}/graphql/realtime")


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address (an unresolvable host is not)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    addresses = {info[4][0].split("%", 1)[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise BindError(host, port, getattr(exc, "strerror", None) or str(exc)) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from exc
        raise BindError(host, port, exc.strerror or str(exc), exc.errno) from exc
    sock.listen(256)
    sock.setblocking(False)
    return sock


async def _serve(sock: socket.socket, server: AppSyncServer, platform: "wiring.Platform",
                 threads: ThreadPoolExecutor, shutdown: Shutdown, ssl_context: object | None,
                 announce: Callable[[], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    shutdown.while_serving(lambda: loop.call_soon_threadsafe(stop.set))
    runner = web.AppRunner(server.app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        await loop.run_in_executor(threads, platform.start_pollers)
        _freeze_startup_heap()
        announce()
        await stop.wait()
    finally:
        shutdown.while_serving(None)
        await loop.run_in_executor(threads, platform.stop_pollers)
        await runner.cleanup()


def _freeze_startup_heap() -> None:
    """Start-up leaves a large, long-lived heap (moto, botocore models, the Pulumi program, V8
    bindings, every handler's imports). Without this, each full collection walks all of it and
    stalls every thread for 100-400 ms, mid-request; frozen objects are never scanned again."""
    gc.collect()
    gc.freeze()


def _err(line: str) -> None:
    print(f"tenantry dev: {line}", file=sys.stderr, flush=True)


def _refuse_remote(options: DevOptions) -> bool:
    if is_loopback(options.host):
        return False
    _err(f"WARNING: --host {options.host} is not a loopback address. The emulator's IAM credentials "
         "are public (testing/testing): anyone who can reach this port can sign IAM-only calls such "
         "as publishAccountUpdate and push forged updates to subscribers.")
    if options.allow_remote:
        return False
    _err("refusing to listen beyond loopback without --allow-remote.")
    return True


def _bind_or_explain(options: DevOptions) -> socket.socket | int:
    try:
        return bind(options.host, options.port)
    except PortInUseError as exc:
        _err(f"cannot listen on {url_host(exc.host)}:{exc.port}: address already in use "
             "(another `tenantry dev`?). Pick another port with --port.")
        return EXIT_PORT_IN_USE
    except BindError as exc:
        _err(f"cannot listen on {url_host(exc.host)}:{exc.port}: {exc.reason}. "
             "Pick an address of this machine with --host.")
        return EXIT_FAILED


def run(options: DevOptions, out: TextIO = sys.stdout) -> int:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    if _refuse_remote(options):
        return EXIT_REMOTE_REFUSED
    shutdown = Shutdown().install()
    try:
        sock = _bind_or_explain(options)
        if isinstance(sock, int):
            return sock
        return _run_bound(options, sock, shutdown, say, out)
    except StopRequested:
        say("stopped")
        return EXIT_OK
    finally:
        shutdown.restore()


def _run_bound(options: DevOptions, sock: socket.socket, shutdown: Shutdown, say: Callable[[str], None],
               out: TextIO) -> int:
    dev_json = options.dev_json or options.root / DEV_JSON
    handler = activity.configure(options.log_format, out)
    threads = ThreadPoolExecutor(WORKER_THREADS, "tenantry-resolver")
    try:
        with ExitStack() as stack:
            stack.callback(sock.close)
            _clear_leftovers(dev_json, say)
            workdir = devstate.make_workdir()
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            tls = _tls(options) if options.tls else None
            platform = stack.enter_context(wiring.Platform(
                options.root, workdir, say, ca_file=tls.ca_file if tls else None,
                # EMF metric lines are for CloudWatch; at a terminal they drown everything else.
                lambda_env=QUIET_LAMBDA_ENV if options.log_format == "text" else {}))
            state = stack.enter_context(_kept_state(options, platform, say))
            apis, urls = _add_tenants(options, platform, state, threads, say)
            if options.log_format == "text":
                activity.quiet_powertools()
            control_key = secrets.token_urlsafe(24)
            server = AppSyncServer(apis, reapply=platform.reapply, control_key=control_key)
            events = ReloadEvents()
            server.app.add_routes([events.route()])
            server.app.add_routes(console.routes(console_tenants(
                urls, lambda region: platform.emulator.client("cognito-idp", region), EVENTS_PATH)))
            if options.reload:
                _watch(stack, platform, events, options.log_format, say)
            stack.callback(devstate.remove_own_dev_json, dev_json)
            announce = _announcer(urls, dev_json, platform, tls, control_key, state, say)
            asyncio.run(_serve(sock, server, platform, threads, shutdown,
                               tls.server_context if tls else None, announce))
            say("stopping")
    except StopRequested:
        say("stopping")
    except (wiring.StartupError, devusers.DevUserError, StateInUseError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    finally:
        threads.shutdown(wait=False, cancel_futures=True)
        activity.unconfigure(handler)
    say("stopped")
    return EXIT_OK


def _watch(stack: ExitStack, platform: "wiring.Platform", events: ReloadEvents, log_format: str,
           say: Callable[[str], None]) -> None:
    from tenantry.local import reload

    after_lambdas = activity.quiet_powertools if log_format == "text" else (lambda: None)
    watcher = reload.start(platform, events, activity.reload, after_lambdas)
    stack.callback(watcher.stop)
    say("hot reload: watching resolvers/, lambdas/ and tenants/ (--no-reload to turn it off)")


def _clear_leftovers(dev_json: Path, say: Callable[[str], None]) -> None:
    if devstate.clear_stale_dev_json(dev_json):
        say(f"removed {dev_json} left by a run that is gone")
    for folder in devstate.clear_stale_workdirs():
        say(f"removed {folder} left by a run that is gone")


def _tls(options: DevOptions) -> "LocalTLS":
    from tenantry.local.tls import local_tls

    return local_tls(options.root / TLS_DIR, options.host)


@contextmanager
def _kept_state(options: DevOptions, platform: "wiring.Platform", say: Callable[[str], None]) -> Iterator[DevState]:
    state = DevState(options.state_dir or options.root / STATE_DIR, platform.emulator)
    try:
        if options.fresh:
            removed = state.discard(platform.tenant_names(options.tenants))
            say(f"--fresh: discarding the kept state of {', '.join(p.name for p in removed) or 'no tenant'} "
                f"in {state.directory}; starting empty")
        yield state
    finally:
        state.close()


def _add_tenants(options: DevOptions, platform: "wiring.Platform", state: DevState, threads: ThreadPoolExecutor,
                 say: Callable[[str], None]) -> tuple[dict[str, TenantApi], dict[str, Endpoints]]:
    apis: dict[str, TenantApi] = {}
    urls: dict[str, Endpoints] = {}
    for name in platform.tenant_names(options.tenants):
        started = time.perf_counter()
        urls[name] = endpoints(name, options.host, options.port, options.tls)
        apis[name] = platform.add_tenant(name, urls[name], threads)
        state.start_tenant(platform.tenants[name])
        urls[name] = dataclasses.replace(urls[name], api_key=apis[name].api_key,
                                         archive_bucket=next(iter(platform.tenants[name].buckets), ""),
                                         **_identity(platform, state, name))
        say(f"{name}: ready to serve ({time.perf_counter() - started:.1f}s)")
    return apis, urls


def _identity(platform: "wiring.Platform", state: DevState, name: str) -> dict:
    """The tenant's user pool and its dev users, seeded now (what dev.json says of them), each
    with the `sub` it had in earlier runs, so the accounts restored for it are still its own."""
    local, config = platform.tenants[name], platform.configs[name]
    if not local.user_pools:
        return {}
    pool = next(iter(local.user_pools.values()))
    users = devusers.seed(platform.emulator.client("cognito-idp", local.region), name, pool,
                          [(u.name, tuple(u.groups)) for u in config.dev.users])
    subs = state.keep_subs(local, pool.id, [u.username for u in users])
    return {"region": local.region, "user_pool_id": pool.id,
            "user_pool_client_id": next(iter(pool.clients.values()), None), "issuer": pool.issuer,
            "users": {u.name: {"username": u.username, "password": u.password, "sub": subs[u.username],
                               "groups": list(u.groups)} for u in users}}


def _announcer(urls: dict[str, Endpoints], dev_json: Path, platform: "wiring.Platform",
               tls: "LocalTLS | None", control_key: str, state: DevState,
               say: Callable[[str], None]) -> Callable[[], None]:
    def announce() -> None:
        for name, url in urls.items():
            _announce_tenant(name, url, say)
        say(f"Cognito:   {platform.emulator.endpoint_url} (Amplify's userPoolEndpoint)")
        if tls:
            say(f"TLS: trust {tls.ca_file} (e.g. NODE_EXTRA_CA_CERTS={tls.ca_file})")
        path = write_dev_json(dev_json, urls, emulator_url=platform.emulator.endpoint_url,
                              ca_file=tls.ca_file if tls else None, control_key=control_key)
        say(f"wrote {path}")
        say(f"state: event logs kept in {state.directory} (read models rebuilt from them at start; "
            "--fresh starts empty)")
        say("ready")
    return announce


def _announce_tenant(name: str, url: Endpoints, say: Callable[[str], None]) -> None:
    say(f"{name}:")
    say(f"  Console:   {url.graphql_url.removesuffix('graphql')}")
    say(f"  GraphQL:   {url.graphql_url}")
    say(f"  Real-time: {url.realtime_url}")
    if url.api_key:
        say(f"  API key:   {url.api_key}")
    if url.user_pool_id:
        say(f"  User pool: {url.user_pool_id} (client {url.user_pool_client_id})")
    for user, credentials in url.users.items():
        groups = f" [{', '.join(credentials['groups'])}]" if credentials["groups"] else ""
        say(f"  Dev user:  {user}{groups}: {credentials['username']} / {credentials['password']}")

