"""The V8 context pool (tenantry.appsync.v8): what a call leaves behind, idle collection, limits."""

from __future__ import annotations

import json
import time

import pytest

from tenantry.appsync import v8

pytestmark = pytest.mark.unit

SETUP = [("echo", "var lib = { echo(name, payload) { return name + ':' + JSON.parse(payload).n; } };")]
CALLS = 3000


def payload(n: int) -> str:
    return json.dumps({"n": n, "pad": f"{n:08d}" * 250})         # 2 KB, different every time


def test_calls_compile_nothing_per_request():
    # GIVEN a one-lane pool that never sits idle long enough to collect
    with v8.ContextPool("calls", SETUP, size=1, idle_collect_s=3600) as pool:
        before = pool.heap_used_bytes()
        # WHEN a function is called with thousands of different arguments
        answers = {pool.call("lib.echo", "r", payload(n)) for n in range(CALLS)}
        # THEN each answered, and V8 kept no per-call script: an `eval` of each call's source
        # text keeps ~4 KB a call (12 MB here) until memory runs short
        grown = pool.heap_used_bytes() - before
    assert answers == {f"r:{n}" for n in range(CALLS)}
    assert grown < CALLS * 500, f"V8 heap grew {grown} bytes over {CALLS} calls"


def test_an_idle_lane_collects_what_its_work_left():
    # GIVEN a lane whose last evaluation left megabytes of garbage
    with v8.ContextPool("idle", SETUP, size=1, idle_collect_s=0.05) as pool:
        baseline = pool.heap_used_bytes()
        pool.evaluate("(() => { const junk = []; for (let i = 0; i < 20000; i++) junk.push('x'.repeat(500) + i);"
                      " return junk.length; })()")
        # WHEN it then waits for work THEN its isolate is collected, unprompted
        deadline = time.monotonic() + 30
        while (used := pool.heap_used_bytes()) > baseline + 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert used <= baseline + 2_000_000, f"{used - baseline} bytes still held"


def test_a_call_past_the_heap_limit_is_typed_and_the_pool_serves_on():
    # GIVEN a pool with a small heap limit and a function that allocates without bound
    setup = [*SETUP, ("hog", "var hog = () => { const a = []; for (;;) a.push('y'.repeat(1000)); };")]
    with v8.ContextPool("limits", setup, size=1, heap_limit_bytes=32 * 1024 * 1024) as pool:
        # WHEN it is called THEN a typed error, and a fresh isolate answers the next call
        with pytest.raises(v8.EvaluationMemoryError):
            pool.call("hog")
        assert pool.call("lib.echo", "after", payload(7)) == "after:7"
        assert pool.contexts_created == 2
