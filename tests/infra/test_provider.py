"""The explicit AWS provider gets the stack's credentials settings (`aws:profile`, `aws:assumeRoles`):
explicit providers ignore `aws:` stack config, so `__main__.py` reads it and passes it through."""

from __future__ import annotations

import json
import runpy

import pytest

from tenantry.config import load_tenant_by_name
from tenantry.mocks import Harness
from tenantry.program import ASSUME_ROLE_FIELDS, AwsAccess, AwsAccessError, define_stack
from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra

TENANT = "acme"
PROFILE = "acme-deploy"
ROLE = {"roleArn": "arn:aws:iam::210987654321:role/tenantry-deployer", "sessionName": "tenantry-acme",
        "externalId": "acme-ext"}


def provider_inputs(harness: Harness) -> dict:
    [provider] = [r for r in harness.registrations if r.type == "pulumi:providers:aws"]
    return provider.inputs


def decoded(value):
    """Provider inputs travel as strings on the wire; structured ones as JSON."""
    return json.loads(value) if isinstance(value, str) else value


def test_profile_and_role_chain_reach_the_provider():
    # GIVEN credentials settings for the stack
    config = load_tenant_by_name(ROOT, TENANT)
    access = AwsAccess(profile=PROFILE, assume_roles=(ROLE,))
    # WHEN the program runs under the mock harness
    harness = Harness(stack=TENANT, region=config.region).run(lambda: define_stack(config, ROOT, access))
    # THEN the explicit provider carries them, next to the tenant file's region
    inputs = provider_inputs(harness)
    assert (inputs["profile"], inputs["region"]) == (PROFILE, config.region)
    assert decoded(inputs["assumeRoles"]) == [ROLE]


def test_without_settings_the_provider_uses_the_ambient_credentials():
    config = load_tenant_by_name(ROOT, TENANT)
    inputs = provider_inputs(Harness(stack=TENANT, region=config.region).run(lambda: define_stack(config, ROOT)))
    assert "profile" not in inputs and "assumeRoles" not in inputs


def test_main_passes_the_stack_config_to_the_provider(monkeypatch):
    # GIVEN a stack config with aws:profile and aws:assumeRoles (as `pulumi config set` writes it)
    config = load_tenant_by_name(ROOT, TENANT)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({
        "aws:region": config.region, "aws:profile": PROFILE, "aws:assumeRoles": json.dumps([ROLE])}))
    # WHEN Pulumi runs the entry point
    harness = Harness(stack=TENANT, region=config.region).run(lambda: runpy.run_path(str(ROOT / "__main__.py")))
    # THEN the provider got both
    inputs = provider_inputs(harness)
    assert inputs["profile"] == PROFILE and decoded(inputs["assumeRoles"]) == [ROLE]


def test_an_unknown_assume_role_field_is_refused_with_the_allowed_ones():
    with pytest.raises(AwsAccessError) as raised:
        AwsAccess(assume_roles=({**ROLE, "roleARN": "typo"},))
    assert raised.value.setting == "assumeRoles[0]"
    assert raised.value.allowed == tuple(sorted(ASSUME_ROLE_FIELDS))


def test_a_role_without_its_arn_is_refused():
    with pytest.raises(AwsAccessError) as raised:
        AwsAccess(assume_roles=({"sessionName": "x"},))
    assert raised.value.setting == "assumeRoles[0]"
