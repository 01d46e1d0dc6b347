"""Ctrl-C for `tenantry dev`: the first SIGINT (or SIGTERM) always stops it.

The first signal asks for a graceful stop: during start-up it unwinds what was built so far;
while serving, it stops the server, the pollers, the V8 lanes and the emulator in turn. A part
that hangs (a Lambda stuck on a socket, a thread that never returns) cannot keep the process
alive: after `grace_s` a watchdog prints which threads are still running, with their stacks, and
exits with `EXIT_FORCED`. A second signal exits at once with the same code.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

EXIT_FORCED = 3
GRACE_S = 15.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(Exception):
    """Raised in the main thread by the first signal while nothing else can take it (start-up)."""


class Shutdown:
    def __init__(self, grace_s: float = GRACE_S) -> None:
        self.grace_s = grace_s
        self.requested = threading.Event()
        self._on_request: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> "Shutdown":
        for signum in _SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def while_serving(self, on_request: Callable[[], None] | None) -> None:
        """While serving, a signal calls `on_request` (thread-safe) instead of raising."""
        self._on_request = on_request
        if on_request is not None and self.requested.is_set():
            on_request()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested.is_set():
            _say(f"tenantry dev: {signal.Signals(signum).name} again: exiting now")
            os._exit(EXIT_FORCED)
        self.requested.set()
        threading.Thread(target=self._watchdog, name="tenantry-stop-watchdog", daemon=True).start()
        if self._on_request is not None:
            self._on_request()
        else:
            raise StopRequested()

    def _watchdog(self) -> None:
        # A daemon thread: a process that stopped in time has ended it. Still here means something
        # (often a non-daemon worker thread the interpreter waits for at exit) is stuck.
        time.sleep(self.grace_s)
        _say(f"tenantry dev: did not stop within {self.grace_s:g}s; still running:")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(EXIT_FORCED)


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
