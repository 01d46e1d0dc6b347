"""Each example tenant is evaluated once per session under the strict mock harness: Pulumi mocks
are slow-ish, and every infra test reads the same evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.config import load_tenant_by_name, tenant_names
from tenantry.mocks import Harness, declare_with_harness, ensure_event_loop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TENANTS = tuple(tenant_names(ROOT))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Other test groups in the same worker may have run (and closed) an asyncio loop; this runs
    # before any fixture, module-scoped Pulumi evaluations included.
    ensure_event_loop()


@pytest.fixture(scope="session")
def configs():
    return {name: load_tenant_by_name(ROOT, name) for name in EXAMPLE_TENANTS}


@pytest.fixture(scope="session")
def evaluated(configs) -> dict[str, Harness]:
    return {name: declare_with_harness(config, ROOT) for name, config in configs.items()}


@pytest.fixture(params=EXAMPLE_TENANTS)
def tenant(request) -> str:
    return request.param


@pytest.fixture
def harness(evaluated, tenant) -> Harness:
    return evaluated[tenant]


@pytest.fixture
def resources(harness):
    return harness.declared()
