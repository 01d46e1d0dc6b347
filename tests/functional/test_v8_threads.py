"""The V8 thread rule (tenantry.appsync.v8), proven on the schedules that crashed the dev server.

Each scenario runs in a fresh interpreter, because what matters is which threads exist when V8 is
initialised, and a pytest worker has long initialised it. On a CPU with memory protection keys
(`pku` in /proc/cpuinfo, as on the CI machines) the old runtime segfaulted in every one of these;
a CPU without them cannot show the fault, so these tests then only prove the runtime still works.
A failure prints the child's exit code or signal and its output (faulthandler stacks included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.functional

PRELUDE = """
import json, sys, threading, faulthandler
from pathlib import Path
faulthandler.enable()
from tenantry.appsync.jsruntime import ResolverRuntime
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR
FILES = [r.code_file for r in API_SPEC.resolvers]
CTX = {"arguments": {"id": "acc-1"}, "identity": None, "source": None, "stash": {},
       "request": {"headers": {}}, "info": {}}

def evaluate(runtime, times):
    for _ in range(times):
        assert runtime.run("Query.account.js", "request", CTX).outcome == "ok"
"""

SCENARIOS = {
    # Worker threads that exist before V8 is initialised create runtimes at the same moment and
    # evaluate while the others create theirs: the dev server's first concurrent requests.
    "runtimes_created_on_preexisting_threads": """
        barrier = threading.Barrier(8)
        def worker():
            barrier.wait()
            with ResolverRuntime(RESOLVER_DIR, FILES, contexts=2) as runtime:
                evaluate(runtime, 100)
        threads = [threading.Thread(target=worker) for _ in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
    """,
    # One runtime shared by many threads, created on one of them; closed on the main thread.
    "shared_runtime_closed_on_main": """
        made = []
        maker = threading.Thread(target=lambda: made.append(ResolverRuntime(RESOLVER_DIR, FILES, contexts=4)))
        maker.start(); maker.join()
        runtime = made[0]
        threads = [threading.Thread(target=evaluate, args=(runtime, 150)) for _ in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        assert runtime.pool.lanes <= 4
        runtime.close()
    """,
    # Hot reload: new code swapped in from another thread, again and again, while 8 threads
    # evaluate; each retired set of contexts is closed by its own lanes once its fields are done.
    "reloaded_while_serving": """
        from tenantry.appsync.executor import FieldCall, FieldExecutor
        source = (RESOLVER_DIR / "Subscription.onAccountUpdated.js").read_text()
        executor = FieldExecutor(API_SPEC, RESOLVER_DIR, backends=None, contexts=2)
        call = FieldCall("Subscription", "onAccountUpdated", {"accountId": "acc-1"}, None,
                         {"sub": "alice", "claims": {"sub": "alice"}}, {}, ["balance"], "{ balance }")
        stop = threading.Event()
        def serve():
            while not stop.is_set():
                executor.subscription_filter(call)
        threads = [threading.Thread(target=serve) for _ in range(8)]
        [t.start() for t in threads]
        for i in range(20):
            executor.reload({"Subscription.onAccountUpdated.js": source + f"\\n// edit {i}\\n"})
        stop.set(); [t.join() for t in threads]
        executor.close()
    """,
    # Runtimes still open when the interpreter exits (Ctrl-C mid-traffic): closed by their lanes.
    "open_runtimes_at_exit": """
        runtimes = [ResolverRuntime(RESOLVER_DIR, FILES, contexts=2) for _ in range(3)]
        threads = [threading.Thread(target=evaluate, args=(r, 50)) for r in runtimes for _ in range(2)]
        [t.start() for t in threads]; [t.join() for t in threads]
    """,
}


def run_child(body: str) -> subprocess.CompletedProcess:
    source = PRELUDE + textwrap.dedent(body) + "\nprint('survived')\n"
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONFAULTHANDLER": "1"})


def describe(result: subprocess.CompletedProcess) -> str:
    code = result.returncode
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return f"child died with {how}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-6000:]}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_runtime_survives_the_schedule(scenario):
    # GIVEN a fresh process WHEN the scenario's threads drive V8 THEN it finishes and exits cleanly
    result = run_child(SCENARIOS[scenario])
    assert result.returncode == 0 and "survived" in result.stdout, describe(result)


def test_v8_initialised_elsewhere_is_refused_by_name():
    # GIVEN V8 initialised directly through mini-racer WHEN a runtime is created THEN a typed error
    result = run_child("""
        from py_mini_racer import MiniRacer
        MiniRacer().close()
        from tenantry.appsync.v8 import V8OwnershipError
        try:
            ResolverRuntime(RESOLVER_DIR, FILES)
        except V8OwnershipError:
            print("refused")
    """)
    assert result.returncode == 0 and "refused" in result.stdout, describe(result)
