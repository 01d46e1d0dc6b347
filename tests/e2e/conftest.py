"""`tenantry dev` as a subprocess on a free port, driven only through GraphQL (gql)."""

from __future__ import annotations

import pytest

from tests.e2e.support import DevServer, TenantEndpoint, free_port, start_dev, stop_dev


@pytest.fixture(scope="session")
def dev(tmp_path_factory) -> DevServer:
    server = start_dev(tmp_path_factory.mktemp("dev"), free_port())
    yield server
    stop_dev(server)


@pytest.fixture(scope="session")
def acme(dev) -> TenantEndpoint:
    return dev.tenants["acme"]


@pytest.fixture(scope="session")
def globex(dev) -> TenantEndpoint:
    return dev.tenants["globex"]

