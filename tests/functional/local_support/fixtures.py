"""Fixtures for the local-platform tests: one emulator per test, state wiped afterwards."""

from __future__ import annotations

import functools

import pytest

from tenantry.local.emulator import Emulator
from tests.functional.local_support import sink
from tests.functional.local_support.declared import REGION


@pytest.fixture
def emulator():
    with Emulator(region=REGION) as running:
        yield running
        running.reset()
    sink.reset()


@functools.cache
def declared_example(tenant: str = "acme") -> tuple[str, tuple]:
    """(region, resources) the Pulumi program declares for an example tenant, under the mock
    runtime: pure data, evaluated once per process for every test that applies it."""
    from tenantry.config import load_tenant_by_name
    from tenantry.mocks import declare
    from tests.e2e.support import ROOT

    config = load_tenant_by_name(ROOT, tenant)
    return config.region, tuple(declare(config, ROOT))
