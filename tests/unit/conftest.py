"""Fixtures of the unit group."""

from __future__ import annotations

import pytest

from tenantry.appsync.jsruntime import ResolverRuntime
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR


@pytest.fixture(scope="module")
def runtime():
    """Every declared resolver file loaded into one V8 context, closed after the module."""
    with ResolverRuntime(RESOLVER_DIR, [r.code_file for r in API_SPEC.resolvers]) as rt:
        yield rt
