"""The V8 context pool (tenantry.appsync.v8): what evaluations leave behind, and collecting it."""

from __future__ import annotations

import json
import time

import pytest

from tenantry.appsync import v8

pytestmark = pytest.mark.unit

SETUP = [("echo", "var lib = { echo(name, payload) { return name + ':' + JSON.parse(payload).n; } };")]
EVALUATIONS = 3000


def call_source(n: int) -> str:
    """A request's evaluation as the resolver runtime writes it: new source text every time."""
    payload = json.dumps({"n": n, "pad": f"{n:08d}" * 250})         # 2 KB
    return f"lib.echo('r', {json.dumps(payload)})"


def evaluate_all(pool: v8.ContextPool) -> tuple[set[str], int]:
    before = pool.heap_used_bytes()
    answers = {pool.evaluate(call_source(n)) for n in range(EVALUATIONS)}
    return answers, pool.heap_used_bytes() - before


def test_without_collections_each_evaluation_leaves_its_compiled_script():
    # GIVEN a lane that never collects WHEN thousands of distinct sources are evaluated
    with v8.ContextPool("kept", SETUP, size=1, idle_collect_s=3600, collect_every=10**9) as pool:
        _, grown = evaluate_all(pool)
    # THEN V8 kept kilobytes per evaluation (why the pool collects: this test pins the cause)
    assert grown > EVALUATIONS * 2000, f"V8 heap grew only {grown} bytes over {EVALUATIONS} evaluations"


def test_a_lane_collects_every_so_many_jobs():
    # GIVEN a lane that collects every 100 jobs and never idles long enough to collect otherwise
    with v8.ContextPool("bounded", SETUP, size=1, idle_collect_s=3600, collect_every=100) as pool:
        # WHEN thousands of distinct sources are evaluated
        answers, grown = evaluate_all(pool)
    # THEN each answered, and the heap holds at most about 100 evaluations' leftovers
    assert answers == {f"r:{n}" for n in range(EVALUATIONS)}
    assert grown < 100 * 8000, f"V8 heap grew {grown} bytes over {EVALUATIONS} evaluations"


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


def test_an_evaluation_past_the_heap_limit_is_typed_and_the_pool_serves_on():
    # GIVEN a pool with a small heap limit and a function that allocates without bound
    setup = [*SETUP, ("hog", "var hog = () => { const a = []; for (;;) a.push('y'.repeat(1000)); };")]
    with v8.ContextPool("limits", setup, size=1, heap_limit_bytes=32 * 1024 * 1024) as pool:
        # WHEN it is called THEN a typed error, and a fresh isolate answers the next evaluation
        with pytest.raises(v8.EvaluationMemoryError):
            pool.evaluate("hog()")
        assert pool.evaluate(call_source(7)) == "r:7"
        assert pool.contexts_created == 2
