"""Fixtures of the unit group."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def runtime():
    """Every declared resolver file loaded into one V8 context, closed after the module."""
    # Imported here: the Lambda-side run (Python 3.13, .venv-lambda) has no V8 and collects this
    # folder too.
    from tenantry.appsync.jsruntime import ResolverRuntime
    from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR

    with ResolverRuntime(RESOLVER_DIR, [r.code_file for r in API_SPEC.resolvers]) as rt:
        yield rt
