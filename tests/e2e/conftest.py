"""`tenantry dev` as a subprocess on a free port, driven only through GraphQL (gql).

If the server dies, every test that needs it fails with its exit code or signal and its last
output (native crashes print their stacks: the server runs with PYTHONFAULTHANDLER=1).
"""

from __future__ import annotations

import pytest

from tests.e2e.support import DevServer, TenantEndpoint, exit_description, free_port, start_dev, stop_dev


@pytest.fixture(scope="session")
def dev(tmp_path_factory) -> DevServer:
    server = start_dev(tmp_path_factory.mktemp("dev"), free_port())
    yield server
    code = stop_dev(server)
    assert code == 0, f"tenantry dev exited with {exit_description(code)} after SIGINT"


@pytest.fixture(autouse=True)
def _dev_alive(request):
    """Before and after each test that uses the shared server: is it still there?"""
    if "dev" not in request.fixturenames:
        yield
        return
    server: DevServer = request.getfixturevalue("dev")
    server.assert_alive()
    yield
    server.assert_alive(wait=0 if getattr(request.node, "rep_call_passed", False) else 10)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Lets `_dev_alive` know whether the test itself failed (then a dying server gets time)."""
    outcome = yield
    if call.when == "call":
        item.rep_call_passed = outcome.get_result().passed


@pytest.fixture(scope="session")
def acme(dev) -> TenantEndpoint:
    return dev.tenants["acme"]


@pytest.fixture(scope="session")
def globex(dev) -> TenantEndpoint:
    return dev.tenants["globex"]
