"""A handler's import does only what init needs: the X-Ray SDK (the largest single import) waits for
the first invocation (`lambdas.handlers.tracing`). Module sets, never timings: `python -m
bench.coldstart` measures the time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lambdas.handlers.tracing import LazyTracer
from bench.coldstart import handler_modules

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]
MODULES = handler_modules()


def modules_after_import(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    return set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                         check=True).stdout))


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_handler_does_not_import_the_xray_sdk(module):
    # GIVEN a fresh interpreter WHEN it imports the module of a declared handler
    loaded = modules_after_import(module)
    # THEN the handler is there and the X-Ray SDK is not
    assert module in loaded
    assert not {name for name in loaded if name.split(".")[0] == "aws_xray_sdk"}


def test_the_first_invocation_builds_the_powertools_tracer_and_traces_the_handler(monkeypatch):
    # GIVEN a handler wrapped by a lazy tracer (tracing off, as outside Lambda)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    lazy = LazyTracer(service="test")
    calls = []
    handler = lazy.capture_lambda_handler(lambda event, context: calls.append(event) or {"ok": event})
    assert lazy._tracer is None
    # WHEN it is invoked twice
    first, second = handler({"n": 1}, None), handler({"n": 2}, None)
    # THEN the Powertools Tracer exists from the first call on, and the handler ran each time
    from aws_lambda_powertools import Tracer

    assert isinstance(lazy.tracer, Tracer) and lazy.tracer.service == "test"
    assert (first, second, calls) == ({"ok": {"n": 1}}, {"ok": {"n": 2}}, [{"n": 1}, {"n": 2}])
