"""The embedded AWS emulator: moto's server on a loopback port, in this process.

We assemble the server from the same parts as moto's `ThreadedMotoServer` (its WSGI app and request
handler) instead of using the class itself, for two reasons:
- `ThreadedMotoServer` binds inside its thread, so a busy port leaves `start()` waiting forever;
  binding here turns it into an immediate `EmulatorPortInUseError`.
- moto's backends are not safe under concurrent requests: two conditional PutItems racing in two
  request threads can both pass the condition. Real DynamoDB makes a conditional write atomic, and
  "concurrent writers never lose an update" depends on it, so requests to one backend (a service
  in a region) are dispatched one at a time.

moto's backends are process-global: every `Emulator` in one process (and any `mock_aws` in tests)
sees the same state, and `reset()` clears all of it.

Because every request goes through here, the emulator also knows when a stream may have grown: after
a successful DynamoDB write or Kinesis put it wakes the pollers of that table or shard
(`Emulator.stream_writes`), so they can sleep while idle instead of polling every shard (which
competed with real requests for the lock above and for the GIL) and still see a record at once.
Writes made without this server (a `mock_aws` in the same process) are only seen by the pollers'
idle safety-net poll.

For the same reason the emulator is where a successful DynamoDB item write can be observed before
its answer leaves (`Emulator.observe_writes`): `tenantry dev` keeps each tenant's event log that way
(`tenantry.local.state`). Observers run inside the backend's lock, so what they record is in the
order the writes were applied.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import botocore.config
import botocore.session
import urllib3
from werkzeug.serving import BaseWSGIServer, make_server

from tenantry.local import inprocess, moto_patches

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


StreamKey = tuple[str, ...]     # ("dynamodb", table name) or ("kinesis", stream name, shard id)
ANY_TABLE: StreamKey = ("dynamodb", "*")

_DYNAMODB_TARGET = "DynamoDB_20120810"
_KINESIS_TARGET = "Kinesis_20131202"
# Requests that can add records to a table's stream: the ones naming their tables, and PartiQL
# statements (their table is not worth parsing out, so they wake every table's pollers).
_DYNAMODB_ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_DYNAMODB_WRITES = _DYNAMODB_ITEM_WRITES | {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
_KINESIS_WRITES = frozenset({"PutRecord", "PutRecords"})


class StreamWrites:
    """Wakes the pollers of a table's stream or of a Kinesis shard when a write may have added to it.

    A poller subscribes an `Event` under its key, clears it before each read and waits on it when
    the read found nothing: a write that lands after the read sets the event, a write that landed
    before is seen by the read, so no record waits for a safety-net poll.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[StreamKey, set[threading.Event]] = {}

    def subscribe(self, key: StreamKey, event: threading.Event) -> None:
        with self._lock:
            self._events.setdefault(key, set()).add(event)

    def unsubscribe(self, key: StreamKey, event: threading.Event) -> None:
        with self._lock:
            self._events.get(key, set()).discard(event)

    def notify(self, keys: Iterable[StreamKey]) -> None:
        with self._lock:
            for key in keys:
                if key == ANY_TABLE:
                    targets = [e for k, es in self._events.items() if k[0] == "dynamodb" for e in es]
                else:
                    targets = list(self._events.get(key, ()))
                for event in targets:
                    event.set()


def table_name(table: str) -> str:
    """`TableName` as a request gives it: a name or a table ARN (`...:table/NAME[/stream/...]`)."""
    return table.split("/")[1] if table.startswith("arn:") else table


def stream_name(stream: str) -> str:
    """A Kinesis `StreamName`, or the name inside a `StreamARN` (`...:stream/NAME`)."""
    return stream.split("/")[1] if stream.startswith("arn:") else stream


def _written_keys(service: str, action: str, request: bytes | None, response: bytes) -> list[StreamKey]:
    """The stream keys a successful write request may have added records to."""
    try:
        body = json.loads(request) if request is not None else None
        if service == _DYNAMODB_TARGET:
            if body is None or action not in _DYNAMODB_ITEM_WRITES:
                return [ANY_TABLE]
            if action == "BatchWriteItem":
                return [("dynamodb", table_name(t)) for t in body["RequestItems"]]
            if action == "TransactWriteItems":
                return [("dynamodb", table_name(op["TableName"]))
                        for item in body["TransactItems"] for op in item.values()]
            return [("dynamodb", table_name(body["TableName"]))]
        name = stream_name(body.get("StreamName") or body["StreamARN"])
        result = json.loads(response)
        shards = [result["ShardId"]] if action == "PutRecord" else \
            [r["ShardId"] for r in result["Records"] if "ShardId" in r]
        return [("kinesis", name, shard) for shard in dict.fromkeys(shards)]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        # Something we do not parse (moto will have rejected it, or it is a shape we do not know):
        # waking too many pollers costs one read each, waking too few delays a record.
        return [ANY_TABLE] if service == _DYNAMODB_TARGET else []


# Backends that share no state, by the service a request is signed for: DynamoDB and its Streams
# (both signed "dynamodb"), Kinesis, SQS per region; S3 is one backend for every region.
_INDEPENDENT_SERVICES = frozenset({"dynamodb", "kinesis", "sqs"})


class _BackendLocks:
    """One moto request at a time per backend (see the module docstring), not per process: with a
    single lock the Lambdas' DynamoDB calls queued behind the pollers' Kinesis reads and behind the
    other tenant's requests, and a lock holder waiting for the GIL held everybody up. A request
    this cannot place (unsigned: moto's own API, S3 presigned URLs, ...) takes every lock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}

    def for_request(self, environ: dict) -> list[threading.Lock]:
        scope = _signing_scope(environ)
        if scope is None or (scope[1] not in _INDEPENDENT_SERVICES and scope[1] != "s3"):
            return self._all()
        region, service = scope
        return [self.lock((service, "*" if service == "s3" else region))]

    def lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _all(self) -> list[threading.Lock]:
        self.lock(("*", "*"))
        with self._guard:
            return [self._locks[key] for key in sorted(self._locks)]   # one order: no deadlock


# A successful DynamoDB item write: (action, request body, response body). Runs under the backend's lock.
WriteObserver = Callable[[str, bytes, bytes], None]


class _SerializedApp:
    """Runs one moto request at a time per backend (`_BackendLocks`) and reports stream writes."""

    def __init__(self, app: Any, writes: StreamWrites) -> None:
        self._app = app
        self.locks = _BackendLocks()
        self._writes = writes
        self.observers: list[WriteObserver] = []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        # Read the body before taking the lock: moto would read it from the socket inside it, and
        # a client thread slow to send (the GIL is busy) would hold up every other request.
        request = _read_body(environ)
        service, _, action = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        watched = (service == _DYNAMODB_TARGET and action in _DYNAMODB_WRITES) or \
                  (service == _KINESIS_TARGET and action in _KINESIS_WRITES)
        status: list[str] = []

        def record_status(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        locks = self.locks.for_request(environ)
        with contextlib.ExitStack() as held:
            for lock in locks:
                held.enter_context(lock)
            # moto builds whole responses, so materialising the body inside the lock is cheap and
            # keeps the backend untouched while werkzeug writes to the socket.
            chunks = list(self._app(environ, record_status))
            succeeded = bool(status) and status[0].startswith("2")
            response = b"".join(chunks) if succeeded and (watched or self.observers) else b""
            if (self.observers and request is not None and service == _DYNAMODB_TARGET
                    and action in _DYNAMODB_ITEM_WRITES and succeeded):
                for observe in self.observers:
                    observe(action, request, response)
        if watched and succeeded:
            self._writes.notify(_written_keys(service, action, request, response))
        return chunks


def _cached_dispatcher(dispatcher_type: type) -> Any:
    """moto's dispatcher, remembering which backend app serves a kind of request.

    moto finds the backend of every request anew (parsing the signature, listing its own package
    directory on disk); for signed JSON-protocol requests (DynamoDB, Streams, Kinesis, SQS ...) the
    answer only depends on the signing scope, the target's prefix and the path, so it is cached.
    """

    class CachedDispatcher(dispatcher_type):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._by_kind: dict[tuple[str, ...], Any] = {}

        def get_application(self, environ: dict) -> Any:
            key = _request_kind(environ)
            if key is None:
                return super().get_application(environ)
            app = self._by_kind.get(key)
            if app is None:
                app = self._by_kind[key] = super().get_application(environ)
            return app

    return CachedDispatcher


def _signing_scope(environ: dict) -> tuple[str, str] | None:
    """(region, service) a request is signed for; None for moto's own API and unsigned requests."""
    auth, path = environ.get("HTTP_AUTHORIZATION"), environ.get("PATH_INFO", "")
    if not auth or not isinstance(path, str) or path.startswith("/moto-api"):
        return None
    try:    # "AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ..."
        _, _, region, service, _ = auth.split(",")[0].split()[1].split("/")
    except (ValueError, IndexError):
        return None
    return region, service


def _request_kind(environ: dict) -> tuple[str, ...] | None:
    target, scope = environ.get("HTTP_X_AMZ_TARGET"), _signing_scope(environ)
    if not target or scope is None:
        return None
    return (*scope, target.partition(".")[0], environ["PATH_INFO"])


def _read_body(environ: dict) -> bytes | None:
    """The request body, put back for moto to read; None when its length is unknown (moto then
    reads it itself, e.g. a chunked upload)."""
    if environ.get("wsgi.input_terminated"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class Emulator:
    """moto server on `host:port` (port 0 = any free port). Use as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION,
                 in_process: bool = True) -> None:
        self.host = host
        self.in_process = in_process
        self.region = region
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._session_lock = threading.Lock()
        self._session = _isolated_session()
        self.stream_writes = StreamWrites()
        self._app: _SerializedApp | None = None
        self._observers: list[WriteObserver] = []

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        if self._server is not None:
            return self
        _quiet_logs()
        moto_patches.apply()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        dispatcher = _cached_dispatcher(DomainDispatcherApplication)(create_backend_app)
        app = self._app = _SerializedApp(dispatcher, self.stream_writes)
        app.observers = self._observers
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
        if self.in_process:
            # This process's own clients skip the socket (tenantry.local.inprocess); the
            # emulator's clients and boto3's default session, which the Lambdas' clients use.
            transport = inprocess.InProcessTransport(app, self.endpoint_url)
            inprocess.install(self._session, transport)
            inprocess.install(boto3._get_default_session(), transport)
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
        # moto's backends belong to the process, not to this server: an emulator that ends leaves
        # nothing behind for the next one (tests apply the same tenant one after another).
        if self._server is not None:
            self.reset()
        self.stop()

    def observe_writes(self, observer: WriteObserver) -> None:
        """Call `observer(action, request, response)` after every successful DynamoDB item write
        (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems), inside the lock of
        that backend and before the answer is returned. It must not raise (the write is applied
        already): an observer that cannot do its job reports that itself."""
        self._observers.append(observer)

    def backend_lock(self, service: str, region: str) -> threading.Lock:
        """The lock requests to that backend hold (for work done on moto's objects directly)."""
        if self._app is None:
            raise EmulatorNotRunningError()
        return self._app.locks.lock((service, "*" if service == "s3" else region))

    # access ----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorNotRunningError()
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
