"""A new deployment of the Lambda code package: fresh module space, old invocations unharmed.

The code package here is a throwaway package written to a temporary folder (the real `lambdas/` is
never edited): `hot_<id>/` with a handler module and a helper it imports absolutely and relatively.
"""

from __future__ import annotations

import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from tenantry.local.applier import apply
from tenantry.local.errors import LambdaInvocationError
from tenantry.local.lambda_runtime import LambdaRuntime
from tenantry.local.modulespace import ModuleSpace
from tests.functional.local_support import declared as d
from tests.functional.local_support.fixtures import emulator  # noqa: F401

pytestmark = pytest.mark.functional

HANDLER = """
    import threading
    from {package}.helpers import greeting
    from . import helpers

    CREATED = helpers.new_token()      # module-level state: made once per cold start
    gate = threading.Event()

    def handler(event, context):
        if event.get("wait"):
            gate.wait(10)
        return {{"greeting": greeting(), "relative": helpers.greeting(), "token": CREATED}}
"""
HELPERS = """
    import uuid

    def greeting():
        return {word!r}

    def new_token():
        return uuid.uuid4().hex
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    name = f"hot_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "handler.py").write_text(textwrap.dedent(HANDLER.format(package=name)))
    _write_helpers(folder, "hello")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, folder
    for module in [m for m in sys.modules if m.startswith(name)]:
        sys.modules.pop(module, None)


def _write_helpers(folder: Path, word: str, body: str = HELPERS) -> None:
    (folder / "helpers.py").write_text(textwrap.dedent(body.format(word=word)))


def _runtime(emulator, package: str) -> LambdaRuntime:
    local = apply([d.events_table("acme"), d.function("acme", "hot", f"{package}.handler.handler")], emulator)
    runtime = LambdaRuntime(local, emulator, code_package=package)
    runtime.warm()
    return runtime


def _deploy(runtime: LambdaRuntime, package: str) -> ModuleSpace:
    space = ModuleSpace.fresh(package)
    runtime.adopt(space, runtime.prepare(space))
    return space


def test_new_code_runs_in_a_fresh_module_space_from_the_next_invocation(emulator, package):
    # GIVEN a function that has served an invocation
    name, folder = package
    runtime = _runtime(emulator, name)
    first = runtime.invoke("acme-hot", {})

    # WHEN the helper module changes and the package is deployed again
    _write_helpers(folder, "bonjour")
    space = _deploy(runtime, name)
    second = runtime.invoke("acme-hot", {})

    # THEN the next invocation runs the new helper, by absolute and by relative import
    assert (first["greeting"], second["greeting"], second["relative"]) == ("hello", "bonjour", "bonjour")
    # AND the handler's module-level state was made again, as in a cold start
    assert second["token"] != first["token"]
    # AND the new generation's modules are its own, and the ordinary import is untouched
    assert f"{space.prefix}.helpers" in space.modules()
    assert sys.modules[f"{name}.helpers"].greeting() == "hello"


def test_an_invocation_in_flight_finishes_on_the_code_it_started_with(emulator, package):
    # GIVEN an invocation that is still running
    name, folder = package
    runtime = _runtime(emulator, name)
    old_gate = sys.modules[runtime._module_name(runtime.tenant.function("acme-hot"), runtime.space)].gate
    results: list[dict] = []
    running = threading.Thread(target=lambda: results.append(runtime.invoke("acme-hot", {"wait": True})))
    running.start()

    # WHEN new code is deployed meanwhile, then the running invocation is let go
    _write_helpers(folder, "hola")
    _deploy(runtime, name)
    after = runtime.invoke("acme-hot", {})
    old_gate.set()
    running.join(10)

    # THEN the new invocation ran the new code and the one in flight the old
    assert (after["greeting"], results[0]["greeting"]) == ("hola", "hello")


def test_code_that_cannot_initialise_is_refused_and_the_old_code_keeps_serving(emulator, package):
    # GIVEN a serving function
    name, folder = package
    runtime = _runtime(emulator, name)

    # WHEN its helper is saved with a syntax error
    (folder / "helpers.py").write_text("def greeting(:\n    return 'broken'\n")
    space = ModuleSpace.fresh(name)
    with pytest.raises(LambdaInvocationError) as raised:
        runtime.prepare(space)
    space.discard()

    # THEN the error is Lambda's, pointing at the file and line
    assert raised.value.error_type == "Runtime.UserCodeSyntaxError"
    cause = raised.value.__cause__
    assert isinstance(cause, SyntaxError)
    assert (Path(cause.filename), cause.lineno) == (folder / "helpers.py", 1)
    # AND the function still serves the code it had
    assert runtime.invoke("acme-hot", {})["greeting"] == "hello"
    assert space.modules() == []
