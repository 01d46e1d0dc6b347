"""SnapStart for the command function, a tenant setting: published versions, the `live` alias on the
latest one, and AppSync (data source and its role) invoking that alias. Off by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantry.components.functions import ALIAS
from tenantry.config import load_tenant_by_name
from tenantry.mocks import declare_with_harness

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
LAMBDA_DS = "aws:appsync/dataSource:DataSource"


def one(resources, typ, name=None):
    found = [r for r in resources if r.type == typ and (name is None or r.name == name)]
    assert len(found) == 1, (typ, name, [r.name for r in found])
    return found[0]


def lambda_data_source(resources):
    return one([r for r in resources if r.type == LAMBDA_DS and "lambdaConfig" in r.inputs], LAMBDA_DS)


def invoke_resources(resources) -> list[str]:
    for r in resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy":
            for statement in json.loads(r.inputs["policy"])["Statement"]:
                if "lambda:InvokeFunction" in statement["Action"]:
                    return statement["Resource"]
    raise AssertionError("no policy grants lambda:InvokeFunction")


@pytest.fixture(scope="module")
def snapstart():
    config = load_tenant_by_name(ROOT, "acme").model_copy(update={"command_snapstart": True})
    return declare_with_harness(config, ROOT).declared()


def test_a_snapstart_tenant_publishes_the_command_function_and_appsync_invokes_its_alias(snapstart):
    # GIVEN acme with `command_snapstart: true`
    fn = one(snapstart, "aws:lambda/function:Function", "acme-command-function")
    alias = one(snapstart, "aws:lambda/alias:Alias")
    # THEN the command function publishes versions with SnapStart on them
    assert fn.inputs["publish"] is True and fn.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    # AND the `live` alias points at the published version
    assert alias.inputs == {"name": ALIAS, "functionName": fn.outputs["name"], "functionVersion": fn.outputs["version"]}
    assert alias.outputs["arn"] == f"{fn.outputs['arn']}:{ALIAS}"
    # AND AppSync's Lambda data source and its role name the alias, not the unqualified function
    assert lambda_data_source(snapstart).inputs["lambdaConfig"]["functionArn"] == alias.outputs["arn"]
    assert alias.outputs["arn"] in invoke_resources(snapstart)
    assert fn.outputs["arn"] not in invoke_resources(snapstart)
    # AND the other functions are untouched
    for key in ("publisher", "projector", "archiver"):
        other = one(snapstart, "aws:lambda/function:Function", f"acme-{key}-function").inputs
        assert "snapStart" not in other and "publish" not in other


def test_snapstart_is_off_by_default(configs, evaluated, tenant):
    # GIVEN an example tenant as its file declares it
    assert configs[tenant].command_snapstart is False
    resources = evaluated[tenant].declared()
    fn = one(resources, "aws:lambda/function:Function", f"{tenant}-command-function")
    # THEN no version, no alias, and AppSync invokes the function itself
    assert "snapStart" not in fn.inputs and "publish" not in fn.inputs
    assert not [r for r in resources if r.type == "aws:lambda/alias:Alias"]
    assert lambda_data_source(resources).inputs["lambdaConfig"]["functionArn"] == fn.outputs["arn"]
