"""`tenantry dev`: every tenant's platform, offline, in one process.

Start-up, in this order, so each step can rely on the previous one:
1. bind the API port (a busy port fails here, before anything slow happens);
2. start the AWS emulator (moto) on a free loopback port;
3. per tenant: evaluate the Pulumi program under the mock runtime (`tenantry.mocks.declare`) and
   create what it declares in the emulator (`tenantry.local.applier.apply`);
4. serve every tenant's AppSync API from the declared schema, data sources and resolver code;
5. start the event source mapping pollers (the projector publishes back into step 4's server);
6. print the endpoints, write `.tenantry/dev.json`, print `ready`.
Ctrl-C / SIGTERM stop everything in reverse order and exit 0.

Beyond loopback the emulator is a liability: its IAM credentials are public (anyone can sign
`publishAccountUpdate`), so a non-loopback `--host` needs `--allow-remote`. API keys are random per
run and dev.json (which holds them) is written owner-only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import gc
import ipaddress
import json
import os
import signal
import socket
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

from aiohttp import web

from tenantry.local import wiring
from tenantry.local.auth import new_api_key
from tenantry.local.server import AppSyncServer, TenantApi

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PORT_IN_USE = 2
EXIT_REMOTE_REFUSED = 2
DEV_JSON = Path(".tenantry") / "dev.json"
WORKER_THREADS = 32      # resolver calls block (V8, botocore, in-process Lambdas)


@dataclass(frozen=True)
class DevOptions:
    root: Path
    tenants: tuple[str, ...] = ()        # empty = every tenant of tenants/
    host: str = "127.0.0.1"
    port: int = 4000
    dev_json: Path | None = None         # default: <root>/.tenantry/dev.json
    allow_remote: bool = False           # serve a non-loopback host despite the public IAM credentials


@dataclass(frozen=True)
class Endpoints:
    graphql_url: str
    realtime_url: str
    api_key: str


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


class _Stop(Exception):
    """SIGTERM during the synchronous start-up: unwind like Ctrl-C."""


def url_host(host: str) -> str:
    """`host` as it goes in a URL: an IPv6 literal is bracketed."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def endpoints(tenant: str, host: str, port: int) -> Endpoints:
    base = f"{url_host(host)}:{port}"
    return Endpoints(f"http://{base}/{tenant}/graphql", f"ws://{base}/{tenant}/graphql/realtime",
                     new_api_key())


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


def write_dev_json(path: Path, apis: dict[str, Endpoints], emulator_url: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict = {"tenants": {name: dataclasses.asdict(e) for name, e in sorted(apis.items())}}
    if emulator_url:
        # For `tenantry replay` / `tenantry redrive` in local mode: the emulator behind the APIs.
        document["emulator_url"] = emulator_url
    tmp = path.with_suffix(".tmp")
    # Owner-only from the first byte: it holds the API keys. fchmod covers a tmp left by a crash.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(json.dumps(document, indent=2) + "\n")
    tmp.replace(path)   # readers never see a half-written file
    return path


async def _serve(sock: socket.socket, server: AppSyncServer, platform: "wiring.Platform",
                 announce: Callable[[], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(server.app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        await loop.run_in_executor(None, platform.start_pollers)
        _freeze_startup_heap()
        announce()
        await stop.wait()
    finally:
        await loop.run_in_executor(None, platform.stop_pollers)
        await runner.cleanup()


def _freeze_startup_heap() -> None:
    """Start-up leaves a large, long-lived heap (moto, botocore models, the Pulumi program, V8
    bindings, every handler's imports). Without this, each full collection walks all of it and
    stalls every thread for 100-400 ms, mid-request; frozen objects are never scanned again."""
    gc.collect()
    gc.freeze()


def run(options: DevOptions, out: TextIO = sys.stdout) -> int:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    if not is_loopback(options.host):
        print(f"tenantry dev: WARNING: --host {options.host} is not a loopback address. The emulator's "
              "IAM credentials are public (testing/testing): anyone who can reach this port can sign "
              "IAM-only calls such as publishAccountUpdate and push forged updates to subscribers.",
              file=sys.stderr, flush=True)
        if not options.allow_remote:
            print("tenantry dev: refusing to listen beyond loopback without --allow-remote.",
                  file=sys.stderr, flush=True)
            return EXIT_REMOTE_REFUSED
    previous_term = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        sock = bind(options.host, options.port)
    except PortInUseError as exc:
        signal.signal(signal.SIGTERM, previous_term)
        print(f"tenantry dev: cannot listen on {url_host(exc.host)}:{exc.port}: address already in use "
              f"(another `tenantry dev`?). Pick another port with --port.", file=sys.stderr, flush=True)
        return EXIT_PORT_IN_USE
    except BindError as exc:
        signal.signal(signal.SIGTERM, previous_term)
        print(f"tenantry dev: cannot listen on {url_host(exc.host)}:{exc.port}: {exc.reason}. "
              "Pick an address of this machine with --host.", file=sys.stderr, flush=True)
        return EXIT_FAILED
    try:
        with ExitStack() as stack, ThreadPoolExecutor(WORKER_THREADS, "tenantry-resolver") as threads:
            stack.callback(sock.close)
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tenantry-dev-")))
            platform = stack.enter_context(wiring.Platform(options.root, workdir, say))
            names = platform.tenant_names(options.tenants)
            apis: dict[str, TenantApi] = {}
            urls: dict[str, Endpoints] = {}
            for name in names:
                urls[name] = endpoints(name, options.host, options.port)
                apis[name] = platform.add_tenant(name, urls[name], threads)
            server = AppSyncServer(apis, reapply=platform.reapply)

            def announce() -> None:
                for name in names:
                    say(f"{name}:")
                    say(f"  GraphQL:   {urls[name].graphql_url}")
                    say(f"  Real-time: {urls[name].realtime_url}")
                    say(f"  API key:   {urls[name].api_key}")
                path = write_dev_json(options.dev_json or options.root / DEV_JSON, urls, platform.emulator.endpoint_url)
                say(f"wrote {path}")
                say("ready")

            asyncio.run(_serve(sock, server, platform, announce))
            say("stopping")
    except (KeyboardInterrupt, _Stop):
        say("stopping")
    except wiring.StartupError as exc:
        print(f"tenantry dev: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    say("stopped")
    return EXIT_OK


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()
