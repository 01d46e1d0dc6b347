"""The one owner of V8 in this process: every V8 context is created, used and closed here.

The thread rule, and why. When the CPU has memory protection keys (x86 PKU; Linux shows `pku` in
/proc/cpuinfo), V8 tags parts of its own memory (its sandbox's trusted space, the JS dispatch table,
JIT code) with a key it allocates while initialising. A key's access rights live in each thread's
PKRU register and a new thread inherits its creator's: V8's own source says the key "should be
called once before any threads are created so that new threads inherit access to the new pkey"
(src/sandbox/hardware-support.h). A thread that existed before V8 was initialised, or that descends
from such a thread, may segfault the first time it creates or drives an isolate while another
isolate runs (observed: `JSDispatchTable::PreAllocatedEntryNeedsInitialization` in `Isolate::New`).
mini-racer initialises V8 lazily, inside the first `MiniRacer()`, on whatever thread calls it; the
dev server did that on a resolver worker thread, long after its other threads existed. On a CPU
without PKU nothing of this happens, which is why CI stayed green on the machine that built it.

So this module:
- initialises V8 on its own host thread, and refuses to run if anything else initialised it first
  (`V8OwnershipError`): rights acquired elsewhere cannot be inherited from here;
- starts every thread that touches V8 from that host thread (`V8Host.start_thread`), so each one
  inherits the key; mini-racer's own helper threads (each context's event loop and V8 message
  pump) are started by those threads and inherit it too;
- gives each context one lane thread that creates it, evaluates on it and closes it, so no two
  threads ever drive one isolate, and no context is ever disposed of by the garbage collector on
  a random thread (`MiniRacer.__del__`): pools close their lanes at exit.

Contexts are pooled per script set (`ContextPool`): up to `size` isolates evaluate at once, as
AppSync evaluates resolvers concurrently; each evaluation has a time limit and each isolate a heap
limit, and an isolate that hit either is replaced, never reused.

Memory. Every `eval` of a new source text leaves V8 a compiled script that it keeps until memory
runs short: evaluating one `invoke(..., <request JSON>)` per resolver phase grew an isolate by about
4 KB a call, about 16 KB of resident memory per command in the dev server, none of it collected
while the isolate stayed under its limit. A full collection (`low_memory_notification`) frees it
all in about 2 ms, so a lane collects after every `collect_every` jobs and whenever it has been
idle for `idle_collect_s` after work. (Calling a loaded function instead, with the request as its
argument, compiles nothing, but mini-racer's function calls cost 1.7x an eval: the dev server
lost a quarter of its throughput.)
"""

from __future__ import annotations

import atexit
import itertools
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_HEAP_LIMIT_BYTES = 128 * 1024 * 1024
IDLE_COLLECT_S = 2.0
COLLECT_EVERY = 1000          # jobs; ~4 MB of compiled scripts, freed in ~2 ms
_LANE_JOIN_S = 10.0


class V8Error(Exception):
    """Base of this module's errors."""


class V8OwnershipError(V8Error):
    """V8 was initialised outside the V8 host: its memory-protection rights cannot be shared."""

    def __init__(self) -> None:
        super().__init__("V8 (py_mini_racer) was initialised outside tenantry.appsync.v8; every "
                         "MiniRacer context must be created through it (see the module docstring)")


class ScriptLoadError(V8Error):
    """A setup script of a pool failed to evaluate in a fresh context."""

    def __init__(self, script: str, detail: str) -> None:
        super().__init__(f"{script}: {detail}")
        self.script = script
        self.detail = detail


class EvaluationTimeoutError(V8Error):
    def __init__(self, pool: str, timeout_s: float) -> None:
        super().__init__(f"{pool}: evaluation did not finish within {timeout_s:g}s")
        self.pool = pool
        self.timeout_s = timeout_s


class EvaluationMemoryError(V8Error):
    def __init__(self, pool: str, limit_bytes: int) -> None:
        super().__init__(f"{pool}: evaluation exceeded the {limit_bytes // (1024 * 1024)} MiB heap limit")
        self.pool = pool
        self.limit_bytes = limit_bytes


class EvaluationError(V8Error):
    """The evaluated expression threw (or did not produce a value mini-racer can return)."""

    def __init__(self, pool: str, detail: str) -> None:
        super().__init__(f"{pool}: {detail}")
        self.pool = pool
        self.detail = detail


class PoolClosedError(V8Error):
    def __init__(self, pool: str) -> None:
        super().__init__(f"{pool}: the context pool is closed")
        self.pool = pool


class V8Host:
    """The thread that initialised V8, and the factory of every thread that may use it."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], Future]] = queue.SimpleQueue()
        started: Future = Future()
        self._thread = threading.Thread(target=self._serve, args=(started,), name="tenantry-v8-host",
                                        daemon=True)
        self._thread.start()
        started.result()

    def _serve(self, started: Future) -> None:
        from py_mini_racer import LibAlreadyInitializedError, init_mini_racer

        try:
            init_mini_racer()
        except LibAlreadyInitializedError:
            started.set_exception(V8OwnershipError())
            return
        except BaseException as exc:  # noqa: BLE001 - reported to the thread that asked
            started.set_exception(exc)
            return
        started.set_result(None)
        while True:
            action, done = self._requests.get()
            try:
                done.set_result(action())
            except BaseException as exc:  # noqa: BLE001 - reported to the thread that asked
                done.set_exception(exc)

    def start_thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Start `target` on a new thread created by the host thread (so it may use V8)."""
        def start() -> threading.Thread:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            return thread

        done: Future = Future()
        self._requests.put((start, done))
        return done.result()


_host: V8Host | None = None
_host_lock = threading.Lock()


def host() -> V8Host:
    """The process's V8 host, started on first use."""
    global _host
    with _host_lock:
        if _host is None:
            _host = V8Host()
        return _host


@dataclass
class _Job:
    action: Callable[[_Context, float], Any]     # (context, time limit) -> value
    future: Future = field(default_factory=Future)


_STOP = _Job(lambda context, timeout_s: None)


class _Context:
    """One isolate of a lane, and how much it ran since it last collected its garbage."""

    def __init__(self, racer: Any) -> None:
        self.racer = racer
        self.jobs_since_collected = 0

    def collect(self) -> None:
        self.racer.low_memory_notification()
        self.jobs_since_collected = 0

    def close(self) -> None:
        self.racer.close()


_pool_numbers = itertools.count(1)
_open_pools: "weakref.WeakSet[ContextPool]" = weakref.WeakSet()


class ContextPool:
    """Up to `size` V8 contexts that evaluate the same setup scripts, each on its own lane thread.

    `evaluate(expression)` runs on whichever lane is free and returns the expression's value (a
    string, number, bool or None; anything else must be JSON-encoded by the expression). Lanes are
    added on demand; the first one is created in the constructor, so a setup script that fails to
    load raises `ScriptLoadError` here and not on the first request.
    """

    def __init__(self, name: str, setup: Sequence[tuple[str, str]], *, size: int = 4,
                 timeout_s: float = DEFAULT_TIMEOUT_S,
                 heap_limit_bytes: int = DEFAULT_HEAP_LIMIT_BYTES,
                 idle_collect_s: float = IDLE_COLLECT_S, collect_every: int = COLLECT_EVERY) -> None:
        if size < 1:
            raise ValueError("a context pool needs at least one lane")
        self.name = f"{name}#{next(_pool_numbers)}"
        self._setup = tuple(setup)
        self._size, self._timeout_s, self._heap_limit = size, timeout_s, heap_limit_bytes
        self._idle_collect_s, self._collect_every = idle_collect_s, collect_every
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._lanes = 0                      # lanes started and not failed (their threads above)
        self._idle = 0
        self._closed = False
        self.contexts_created = 0            # lanes' contexts, replacements included (tests, metrics)
        self._add_lane().result()
        _open_pools.add(self)

    @property
    def lanes(self) -> int:
        return self._lanes

    def evaluate(self, expression: str) -> Any:
        def run(context: _Context, timeout_s: float) -> Any:
            return context.racer.eval(expression, timeout_sec=timeout_s)
        return self._submit(_Job(run))

    def heap_used_bytes(self) -> int:
        """V8's `used_heap_size` of the isolate of the lane that answers (of a one-lane pool: its
        only isolate). For tests and benchmarks."""
        return self._submit(_Job(lambda context, timeout_s: context.racer.heap_stats()["used_heap_size"]))

    def _submit(self, job: _Job) -> Any:
        with self._lock:
            if self._closed:
                raise PoolClosedError(self.name)
            if self._idle == 0 and self._lanes < self._size:
                self._add_lane()
            self._jobs.put(job)
        return job.future.result()

    def close(self) -> None:
        """Stop every lane; each closes its own context. Waits (bounded) for them to finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(_STOP)
        for thread in threads:
            thread.join(_LANE_JOIN_S)

    def __enter__(self) -> "ContextPool":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # lanes -------------------------------------------------------------------------------------
    def _add_lane(self) -> Future:
        """Start a lane (caller holds the lock, or is the constructor): resolved once its context
        has loaded the setup scripts, or failed with why it could not."""
        ready: Future = Future()
        self._lanes += 1
        name = f"v8-lane:{self.name}:{len(self._threads) + 1}"
        self._threads.append(host().start_thread(lambda: self._run_lane(ready), name))
        return ready

    def _run_lane(self, ready: Future) -> None:
        try:
            context = self._new_context()
        except BaseException as exc:  # noqa: BLE001 - the constructor (or nobody) re-raises it
            with self._lock:
                self._lanes -= 1
            ready.set_exception(exc)
            return
        ready.set_result(None)
        stopped = False
        try:
            while not stopped:
                job = self._next_job(context)
                stopped = job is _STOP
                if not stopped and job.future.set_running_or_notify_cancel():
                    context = self._run_job(context, job)
        finally:
            context.close()
            if not stopped:             # a replacement context failed: the next call adds a lane
                with self._lock:
                    self._lanes -= 1

    def _next_job(self, context: _Context) -> _Job:
        """Wait for a job, counted as idle; when none comes for `idle_collect_s` after work, the
        isolate collects its garbage meanwhile."""
        with self._lock:
            self._idle += 1
        try:
            while True:
                try:
                    return self._jobs.get(timeout=self._idle_collect_s if context.jobs_since_collected else None)
                except queue.Empty:
                    context.collect()
        finally:
            with self._lock:
                self._idle -= 1

    def _run_job(self, context: _Context, job: _Job) -> _Context:
        """Evaluate one job; returns the context to use next (a fresh one after a limit was hit)."""
        from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

        context.jobs_since_collected += 1
        try:
            job.future.set_result(job.action(context, self._timeout_s))
        except JSTimeoutException:
            job.future.set_exception(EvaluationTimeoutError(self.name, self._timeout_s))
        except JSOOMException:
            job.future.set_exception(EvaluationMemoryError(self.name, self._heap_limit))
        except JSEvalException as exc:
            job.future.set_exception(EvaluationError(self.name, str(exc)))
            return context
        except BaseException as exc:  # noqa: BLE001 - the caller gets it; the lane lives on
            job.future.set_exception(exc)
            return context
        else:
            if context.jobs_since_collected >= self._collect_every:
                context.collect()
            return context
        # A terminated or exhausted isolate is not trusted again: replace it on this lane. First
        # one trivial evaluation: the isolate runs its tasks in order, so once it answers, the
        # callback of the terminated one has been delivered too, not into a closing event loop.
        try:
            context.racer.eval("0", timeout_sec=1.0)
        except Exception:  # noqa: BLE001 - the isolate is being discarded either way
            pass
        context.close()
        return self._new_context()

    def _new_context(self) -> _Context:
        from py_mini_racer import JSEvalException, MiniRacer

        context = MiniRacer()
        try:
            context.set_hard_memory_limit(self._heap_limit)
            for script, source in self._setup:
                try:
                    context.eval(source, timeout_sec=self._timeout_s)
                except JSEvalException as exc:
                    raise ScriptLoadError(script, str(exc)) from exc
        except BaseException:
            context.close()
            raise
        with self._lock:
            self.contexts_created += 1
        return _Context(context)


@atexit.register
def _close_open_pools() -> None:
    """Contexts are closed by their lanes before the interpreter finalises (never by `__del__`)."""
    for pool in list(_open_pools):
        pool.close()
