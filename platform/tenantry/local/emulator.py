"""The embedded AWS emulator: moto's server on a loopback port, in this process.

We assemble the server from the same parts as moto's `ThreadedMotoServer` (its WSGI app and request
handler) instead of using the class itself, for two reasons:
- `ThreadedMotoServer` binds inside its thread, so a busy port leaves `start()` waiting forever;
  binding here turns it into an immediate `EmulatorPortInUseError`.
- moto's backends are not safe under concurrent requests: two conditional PutItems racing in two
  request threads can both pass the condition. Real DynamoDB makes a conditional write atomic, and
  "concurrent writers never lose an update" depends on it, so requests are dispatched one at a time.

moto's backends are process-global: every `Emulator` in one process (and any `mock_aws` in tests)
sees the same state, and `reset()` clears all of it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

import boto3
import botocore.config
import botocore.session
import urllib3
from werkzeug.serving import BaseWSGIServer, make_server

FAKE_ACCOUNT_ID = "123456789012"
FAKE_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
DEFAULT_REGION = "us-east-1"

_CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": 2, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=32,
)


class EmulatorError(Exception):
    """Base of the emulator's errors."""


class EmulatorPortInUseError(EmulatorError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"cannot start the AWS emulator: {host}:{port} is already in use")
        self.host = host
        self.port = port


class EmulatorNotRunningError(EmulatorError):
    def __init__(self) -> None:
        super().__init__("the AWS emulator is not running; call start() or use it as a context manager")


class _SerializedApp:
    """Runs one moto request at a time (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self._lock:
            # moto builds whole responses, so materialising the body inside the lock is cheap and
            # keeps the backend untouched while werkzeug writes to the socket.
            return list(self._app(environ, start_response))


class Emulator:
    """moto server on `host:port` (port 0 = any free port). Use as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION) -> None:
        self.host = host
        self.region = region
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._session_lock = threading.Lock()
        self._session = _isolated_session()

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        if self._server is not None:
            return self
        _quiet_logs()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        app = _SerializedApp(DomainDispatcherApplication(create_backend_app))
        # werkzeug reacts to a busy port with sys.exit(1); binding the socket ourselves keeps the
        # failure a typed error the CLI can report.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(128)
        except OSError as exc:  # EADDRINUSE, or a port we may not bind
            sock.close()
            raise EmulatorPortInUseError(self.host, self._requested_port) from exc
        try:
            self._server = make_server(
                self.host, sock.getsockname()[1], app, threaded=True,
                request_handler=MotoRequestHandler, fd=sock.fileno(),
            )
        finally:
            sock.close()  # werkzeug holds its own duplicate of the descriptor
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="tenantry-aws-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every resource and record (all of moto's state in this process)."""
        urllib3.request("POST", f"{self.endpoint_url}/moto-api/reset", timeout=10)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # access ----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorNotRunningError()
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client bound to the emulator with fake credentials."""
        endpoint = self.endpoint_url
        # A boto3 Session is not thread-safe while it builds clients; the clients themselves are.
        with self._session_lock:
            return self._session.client(
                service,
                endpoint_url=endpoint,
                region_name=region or self.region,
                config=_CLIENT_CONFIG,
                **FAKE_CREDENTIALS,
            )

    def lambda_environment(self, region: str | None = None) -> dict[str, str]:
        """What a handler needs to reach the emulator, as Lambda-style environment variables."""
        region = region or self.region
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": FAKE_CREDENTIALS["aws_session_token"],
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }


def _isolated_session() -> boto3.session.Session:
    """A session that ignores the developer's AWS profile and config files: the emulator's clients
    must neither fail on an unknown AWS_PROFILE nor pick up a configured endpoint or retry mode."""
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    return boto3.session.Session(botocore_session=core)


def _quiet_logs() -> None:
    # werkzeug logs every request at INFO; moto's own loggers are chatty about unimplemented bits.
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)
