"""Declared handlers run in-process with their own environment and module state."""

from __future__ import annotations

import pytest

from tenantry.local.applier import apply
from tenantry.local.errors import LambdaInvocationError
from tenantry.local.lambda_runtime import LambdaRuntime
from tests.functional.local_support import declared as d
from tests.functional.local_support.fixtures import emulator  # noqa: F401

pytestmark = pytest.mark.functional


def _runtime(emulator, tenant: str, **overrides: str) -> LambdaRuntime:
    local = apply([d.events_table(tenant), d.function(tenant, "probe", d.PROBE)], emulator)
    return LambdaRuntime(local, emulator, env_overrides=overrides)


def test_a_handler_sees_its_declared_environment_and_a_lambda_context(emulator, monkeypatch):
    # GIVEN a developer shell with real AWS settings, and a declared function
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-REAL-KEY")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "host-service")
    runtime = _runtime(emulator, "acme", GRAPHQL_URL="http://127.0.0.1:4000/acme/graphql")

    # WHEN it is invoked
    result = runtime.invoke("acme-probe", {})

    # THEN it saw its variables at import and while running, and reached the emulator
    assert (result["tenant"], result["importedWithTenant"]) == ("acme", "acme")
    assert result["endpoint"] == emulator.endpoint_url
    assert result["region"] == d.REGION
    assert "acme-events" in result["tables"]
    # AND a Lambda-shaped context
    assert result["functionName"] == result["functionEnv"] == "acme-probe"
    assert result["arn"].endswith(":function:acme-probe")
    assert result["remainingMs"] > 0
    # AND the host's AWS settings stay out of the function, while the process keeps them
    env = runtime.environment("acme-probe")
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert "POWERTOOLS_SERVICE_NAME" not in env
    assert env["GRAPHQL_URL"] == "http://127.0.0.1:4000/acme/graphql"
    import os

    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIA-REAL-KEY"
    assert "TENANT_ID" not in os.environ


def test_two_tenants_functions_do_not_share_module_state(emulator):
    # GIVEN the same handler declared for two tenants
    acme, globex = _runtime(emulator, "acme"), _runtime(emulator, "globex")

    # WHEN acme's function is invoked twice and globex's once
    acme.invoke("acme-probe", {})
    second = acme.invoke("acme-probe", {})
    first = globex.invoke("globex-probe", {})

    # THEN each copy of the module counts its own invocations and keeps its own tenant
    assert (second["calls"], second["importedWithTenant"]) == (2, "acme")
    assert (first["calls"], first["importedWithTenant"]) == (1, "globex")


def test_a_handler_error_is_a_typed_invocation_error(emulator):
    # GIVEN a handler that raises
    runtime = _runtime(emulator, "acme")

    # WHEN invoked THEN the error carries Lambda's errorType and message, chained to the cause
    with pytest.raises(LambdaInvocationError) as raised:
        runtime.invoke("acme-probe", {"raise": "boom"})
    assert (raised.value.function, raised.value.error_type, raised.value.message) == ("acme-probe", "ValueError", "boom")
    assert isinstance(raised.value.__cause__, ValueError)
