"""What an edited tenant file needs from a running `tenantry dev` (`tenantry.local.declaration_check`)."""

from __future__ import annotations

import dataclasses

import pytest

from tenantry.inventory import ResourceType
from tenantry.local.declaration_check import _compare

pytestmark = pytest.mark.infra

TENANT = "globex"
SHOWN = "tenants/globex.yaml"


def changed(resources, type_name: str, **inputs):
    return [dataclasses.replace(r, inputs={**r.inputs, **inputs}) if r.type == type_name else r
            for r in resources]


def test_code_that_hot_reload_serves_is_no_reason_to_restart(evaluated):
    # GIVEN the declaration as started, and as declared after resolver and Lambda code edits
    running = evaluated[TENANT].declared()
    now = changed(changed(running, ResourceType.RESOLVER, code="// edited"),
                  ResourceType.FUNCTION, sourceCodeHash="edited")
    # WHEN / THEN nothing else changed
    verdict, line, _ = _compare(SHOWN, TENANT, running, now)
    assert verdict == "unchanged"
    assert line.startswith(f"{SHOWN}: nothing {TENANT} runs in tenantry dev has changed")


def test_a_change_the_reapply_route_can_make_is_offered_as_a_reapply(evaluated):
    # GIVEN a function whose environment changed (what a blue/green switch does to the projector)
    running = evaluated[TENANT].declared()
    projector = next(r for r in running if r.type == ResourceType.FUNCTION and "projector" in r.name)
    environment = {"variables": {**projector.inputs["environment"]["variables"], "EXTRA": "1"}}
    now = [dataclasses.replace(r, inputs={**r.inputs, "environment": environment}) if r is projector else r
           for r in running]
    # WHEN / THEN
    verdict, line, detail = _compare(SHOWN, TENANT, running, now)
    assert verdict == "reapply"
    assert detail["plan"]["functions"] == [projector.inputs["name"]]
    assert f"POST /_tenantry/{TENANT}/apply" in line


def test_anything_else_needs_a_restart_and_says_what_changed(evaluated):
    # GIVEN a stream whose retention changed
    running = evaluated[TENANT].declared()
    now = changed(running, ResourceType.STREAM, retentionPeriod=48)
    # WHEN / THEN
    verdict, line, detail = _compare(SHOWN, TENANT, running, now)
    assert verdict == "restart"
    assert detail["changes"] == [f"aws:kinesis/stream:Stream {TENANT}-stream-stream changes retentionPeriod"]
    assert line.startswith(f"{SHOWN}: restart tenantry dev to apply it")
