"""What `tenantry dev` reloaded, for whoever wants to show it (the browser console, a test, a tool).

Each event is one JSON object, the same one `--log-format json` prints:

    {"id": 3, "reload": "resolvers", "message": "reloaded resolvers/Query.account.js (acme, globex)",
     "files": ["resolvers/Query.account.js"], "tenants": ["acme", "globex"], "timestamp": "..."}

(`--log-format json` adds `"kind": "reload"`, `level` and `logger`, as on its other lines.) `reload`
is `resolvers` or `lambdas` (new code serves), `error` (an edit that does not load: the previous
code keeps serving), `restart`, `reapply` or `unchanged` (what an edit of a tenant file, the schema
or tenantry's own code needs). In-process, `ReloadEvents.subscribe(callback)`; over HTTP,
`GET /_tenantry/events` on the dev server is a server-sent-events stream (`event: reload`, `data:`
the JSON object, `id:` its id): from the moment it connects, or after `?since=ID` (`since=0`: the
last 100 kept), which a reconnecting `EventSource` does by itself with its `Last-Event-ID`. The stream carries file and tenant names only, never code or keys, and
needs no credential; like the API it is reachable beyond loopback only with `--allow-remote`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

EVENTS_PATH = "/_tenantry/events"
KEPT = 100
KEEP_ALIVE_S = 15.0

Event = dict[str, Any]


class ReloadEvents:
    """The recent events and their subscribers; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._recent: deque[Event] = deque(maxlen=KEPT)
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()

    def publish(self, reload: str, message: str, *, files: list[str] | tuple[str, ...] = (),
                tenants: list[str] | tuple[str, ...] = (), **detail: Any) -> Event:
        with self._lock:
            event = {"id": next(self._ids), "reload": reload, "message": message, "files": list(files),
                     "tenants": list(tenants), **detail,
                     "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self._recent.append(event)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)
        return event

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call `callback(event)` (on the publishing thread) for every event; returns unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def since(self, last_id: int) -> list[Event]:
        with self._lock:
            return [e for e in self._recent if e["id"] > last_id]

    def route(self) -> web.RouteDef:
        return web.get(EVENTS_PATH, self._stream)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
            "Access-Control-Allow-Origin": "*"})      # the CORS middleware cannot add to a stream
        await response.prepare(request)
        unsubscribe = self.subscribe(lambda event: _put(loop, queue, event))
        try:
            last_id = _last_event_id(request)
            for event in self.since(last_id) if last_id is not None else ():
                await response.write(_frame(event))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                await response.write(_frame(event))
        except ConnectionResetError:        # the client went away
            pass
        finally:
            unsubscribe()
        return response


def _put(loop: asyncio.AbstractEventLoop, queue: "asyncio.Queue[Event]", event: Event) -> None:
    try:
        loop.call_soon_threadsafe(queue.put_nowait, event)
    except RuntimeError:        # the server's loop is closed: nobody is listening any more
        pass


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("since")
    return int(raw) if raw is not None and raw.isdigit() else None


def _frame(event: Event) -> bytes:
    return f"id: {event['id']}\nevent: reload\ndata: {json.dumps(event)}\n\n".encode()
