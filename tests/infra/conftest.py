"""Each example tenant is evaluated once per session under the strict mock harness: Pulumi mocks
are slow-ish, and every infra test reads the same evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenantry.config import TenantConfig, load_tenant_by_name, parse_tenant, tenant_names
from tenantry.mocks import Harness, declare_with_harness, ensure_event_loop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TENANTS = tuple(tenant_names(ROOT))
# The tenant at every schema edge (longest name, shortest key lifetime, provisioned shards).
EDGE_FILE = Path(__file__).resolve().parent / "tenants" / "edge.yaml"


def load_edge() -> TenantConfig:
    """The tenant at the schema's edges. Its name (the longest allowed) is not its file name, so it
    is parsed as if it were `<name>.yaml`: every other rule of the tenant file applies."""
    data = yaml.safe_load(EDGE_FILE.read_text(encoding="utf-8"))
    return parse_tenant(data, EDGE_FILE.with_name(f"{data['name']}.yaml"))


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


@pytest.fixture(scope="session")
def edge() -> Harness:
    return declare_with_harness(load_edge(), ROOT)


@pytest.fixture(params=EXAMPLE_TENANTS)
def tenant(request) -> str:
    return request.param


@pytest.fixture
def harness(evaluated, tenant) -> Harness:
    return evaluated[tenant]


@pytest.fixture
def resources(harness):
    return harness.declared()


@pytest.fixture(scope="session")
def checked(evaluated, edge) -> dict[str, Harness]:
    """The example tenants and the edge tenant: what the policy and catalog checks run over."""
    return {**evaluated, "edge": edge}


@pytest.fixture(params=(*EXAMPLE_TENANTS, "edge"))
def checked_tenant(request, checked) -> tuple[str, list]:
    """(tenant name, declared resources) of each checked tenant."""
    harness = checked[request.param]
    return harness.stack, harness.declared()
