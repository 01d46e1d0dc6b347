"""The tenant at every schema edge (tests/infra/tenants/edge.yaml) previews, passes every policy
rule, and every physical name of every tenant fits its AWS limit at the longest allowed name."""

from __future__ import annotations

import re

import pytest

from tenantry.config import TENANT_NAME_PATTERN, TenantConfigError, parse_tenant
from tenantry.inventory import ResourceType
from tenantry.preview import render_text
from tests.infra.conftest import EDGE_FILE, load_edge
from tests.infra.name_limits import LIMITS, name_limits, physical_names
from tests.infra.policy_rules import RULES

pytestmark = pytest.mark.infra


def test_the_edge_tenant_has_the_longest_allowed_name():
    name = load_edge().name
    longest = int(re.search(r"\{1,(\d+)\}", TENANT_NAME_PATTERN).group(1)) + 1
    assert re.fullmatch(TENANT_NAME_PATTERN, name) and len(name) == longest
    # ... one more character is refused
    with pytest.raises(TenantConfigError):
        parse_tenant({"name": name + "x", "region": "us-east-1"}, EDGE_FILE.with_name(f"{name}x.yaml"))


def test_the_edge_tenant_previews(edge):
    config = load_edge()
    text = render_text(config.name, edge.declared())
    assert text.startswith(f"Tenant {config.name}: ")
    assert "mode=PROVISIONED shards=500 retention=8760h" in text


def test_the_edge_tenant_passes_every_policy_rule(edge):
    resources = edge.declared()
    assert {rule.__name__: rule(load_edge().name, resources) for rule in RULES} == {r.__name__: [] for r in RULES}


def test_every_physical_name_of_the_edge_tenant_fits_its_limit(edge):
    # GIVEN the longest tenant name WHEN every declared physical name is measured THEN all fit
    resources = edge.declared()
    assert name_limits(load_edge().name, resources) == []
    # ... and the check saw the names that grow with the tenant name
    measured = {r.type for r, _ in physical_names(resources)}
    assert {ResourceType.FUNCTION, "aws:iam/role:Role", ResourceType.QUEUE, ResourceType.STREAM,
            ResourceType.TABLE, ResourceType.BUCKET, ResourceType.LOG_GROUP} <= measured


def test_every_physical_name_of_the_example_tenants_fits_its_limit(tenant, resources):
    assert name_limits(tenant, resources) == []


def test_the_name_rule_catches_a_name_over_its_limit_and_an_unlisted_type(edge):
    # GIVEN a function renamed past 64 characters and a named resource of a type with no limit
    import dataclasses

    resources = edge.declared()
    fn = next(r for r in resources if r.type == ResourceType.FUNCTION)
    long_fn = dataclasses.replace(fn, inputs={**fn.inputs, "name": "f" * 65})
    unknown = dataclasses.replace(fn, type="aws:glue/job:Job", inputs={"name": "job"})
    # WHEN / THEN both are reported
    problems = name_limits("t", [long_fn, unknown])
    assert problems[0].endswith("is 65 characters (allowed: 1..64)")
    assert "no known limit" in problems[1]
    assert ResourceType.FUNCTION in LIMITS
