"""A tenant with SnapStart on runs commands locally: AppSync's data source names the command
function's `live` alias (a qualified ARN), and the local platform resolves it to the function."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.config import load_tenant_by_name
from tenantry.components import naming
from tenantry.components.functions import ALIAS
from tenantry.local.applier import apply
from tenantry.local.emulator import Emulator
from tenantry.local.lambda_runtime import LambdaRuntime
from tenantry.local.wiring import declared_api, localize
from tenantry.mocks import declare

pytestmark = pytest.mark.functional
ROOT = Path(__file__).resolve().parents[2]
TENANT = "acme"


def open_account_event(account_id: str) -> dict:
    return {
        "arguments": {"input": {"accountId": account_id, "ownerId": "alice", "currency": "EUR",
                                "commandId": f"open-{account_id}"}},
        "identity": None, "source": None, "request": {"headers": {"x-amzn-requestid": "req-1"}},
        "info": {"fieldName": "openAccount", "parentTypeName": "Mutation", "variables": {},
                 "selectionSetList": ["version"], "selectionSetGraphQL": "{ version }"},
        "prev": None, "stash": {},
    }


def test_a_snapstart_tenant_runs_a_command_through_the_alias(tmp_path):
    # GIVEN acme with `command_snapstart: true`, declared and applied on the emulator
    config = load_tenant_by_name(ROOT, TENANT).model_copy(update={"command_snapstart": True})
    resources = list(declare(config, ROOT))
    [data_source] = [r for r in resources if r.type == "aws:appsync/dataSource:DataSource" and "lambdaConfig" in r.inputs]
    assert data_source.inputs["lambdaConfig"]["functionArn"].endswith(f":function:{naming.physical(TENANT, 'command')}:{ALIAS}")
    with Emulator(region=config.region) as emulator:
        tenant = localize(apply(resources, emulator, tenant=TENANT, region=config.region), graphql_url="")
        # WHEN the local API resolves its Lambda data source and invokes what it names
        api = declared_api(tenant, tmp_path)
        [function_name] = set(api.functions.values())
        result = LambdaRuntime(tenant, emulator).invoke(function_name, open_account_event("snap-1"))
    # THEN the qualified ARN is the command function, and the command ran
    assert function_name == naming.physical(TENANT, "command")
    assert result == {"accountId": "snap-1", "version": 1, "balance": 0, "commandId": "open-snap-1"}
