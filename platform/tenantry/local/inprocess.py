"""Requests from this process to the embedded emulator go straight to its WSGI app, not through
a socket.

Every botocore call of the local platform (the Lambdas' clients, the pollers', the AppSync data
sources') would otherwise open a TCP connection to the emulator's server (werkzeug closes each
one after its response) and be answered by a thread started for it: about half of a call's cost
was that, and under load those connects and thread starts queued behind each other. A botocore
`before-send` hook hands the prepared request to the very app the HTTP server runs (the same
one-at-a-time lock, the same stream-write wake-ups), on the calling thread. Clients in other
processes (`tenantry replay`, the AWS CLI, a browser) still use the HTTP endpoint.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from werkzeug.test import EnvironBuilder

HOOK_ID = "tenantry-emulator-in-process"


class InProcessTransport:
    def __init__(self, app: Any, endpoint_url: str) -> None:
        self.app = app
        self.endpoint_url = endpoint_url.rstrip("/")

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        if not (request.url == self.endpoint_url or request.url.startswith(self.endpoint_url + "/")):
            return None       # not for the emulator: botocore sends it as usual
        url = urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        # botocore keeps some header values as bytes (the signed ones): the wire carries text.
        headers = [(k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        environ = EnvironBuilder(method=request.method, path=url.path or "/", query_string=url.query,
                                 base_url=self.endpoint_url, headers=headers, data=body or b"").get_environ()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            started.update(status=int(status.split(" ", 1)[0]), headers=dict(headers))
            return lambda data: None

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return AWSResponse(request.url, started["status"], started["headers"], MockRawResponse(data))


def install(session: Any, transport: InProcessTransport) -> None:
    """Route this (boto3 or botocore) session's clients created from now on to `transport`."""
    events = session.events if hasattr(session, "events") else session.get_component("event_emitter")
    events.register("before-send", transport, unique_id=HOOK_ID)
