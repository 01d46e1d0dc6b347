"""Blue/green read-model slots: what the tenant file's `read_models` block makes the program declare."""

from __future__ import annotations

import json

import pytest

from lambdas.handlers import settings
from tenantry.components import naming
from tenantry.config import ReadModelSlots
from tenantry.inventory import ResourceType
from tenantry.mocks import declare_with_harness
from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra

TENANT = "globex"


@pytest.fixture(scope="module")
def green_with_standby(configs):
    slots = ReadModelSlots(active="green", standby=True)
    return declare_with_harness(configs[TENANT].model_copy(update={"read_models": slots}), ROOT)


def read_model_tables(resources) -> set[str]:
    events = naming.physical(TENANT, "events")
    return {r.inputs["name"] for r in resources if r.type == ResourceType.TABLE and r.inputs["name"] != events}


def slot_tables(slot: str) -> set[str]:
    return {naming.read_model_table(TENANT, kind, slot) for kind in ("accounts", "ledger")}


def table_arns(resources, names: set[str]) -> set[str]:
    return {r.outputs["arn"] for r in resources if r.type == ResourceType.TABLE and r.inputs["name"] in names}


def test_only_the_active_slot_is_declared_by_default(evaluated, configs):
    # GIVEN the example tenant without a standby WHEN evaluated THEN only the active slot's tables exist
    assert configs[TENANT].read_models == ReadModelSlots()
    assert read_model_tables(evaluated[TENANT].declared()) == slot_tables("blue")
    assert not {"standby_accounts_table", "standby_ledger_table"} & set(evaluated[TENANT].stack_outputs)


def test_standby_declares_the_other_slot_with_the_same_settings(green_with_standby):
    # GIVEN active: green, standby: true WHEN evaluated
    resources = green_with_standby.declared()
    # THEN both slots exist, identical but for their names, and none is deletion-protected
    assert read_model_tables(resources) == slot_tables("green") | slot_tables("blue")
    by_name = {r.inputs["name"]: r.inputs for r in resources if r.type == ResourceType.TABLE}
    for kind in ("accounts", "ledger"):
        green, blue = (dict(by_name[naming.read_model_table(TENANT, kind, s)]) for s in ("green", "blue"))
        assert {**green, "name": None} == {**blue, "name": None}
        assert green["deletionProtectionEnabled"] is False and green["pointInTimeRecovery"]["enabled"] is True
        assert green["serverSideEncryption"]["kmsKeyArn"]


def test_data_sources_projector_and_iam_use_the_active_slot_only(green_with_standby):
    resources = green_with_standby.declared()
    # WHEN reading what serves and writes the read models
    tables = {r.inputs["dynamodbConfig"]["tableName"] for r in resources
              if r.type == ResourceType.DATA_SOURCE and r.inputs.get("dynamodbConfig")}
    projector = next(r for r in resources if r.name == f"{TENANT}-projector-function").inputs
    variables = projector["environment"]["variables"]
    granted = {res for r in resources if r.type == ResourceType.ROLE_POLICY
               for s in json.loads(r.inputs["policy"])["Statement"]
               for res in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}
    # THEN the active (green) tables, never the standby (blue) ones
    assert tables == slot_tables("green")
    assert {variables[settings.ACCOUNTS_TABLE], variables[settings.LEDGER_TABLE]} == slot_tables("green")
    assert table_arns(resources, slot_tables("green")) <= granted
    assert not {g for g in granted for arn in table_arns(resources, slot_tables("blue")) if g.startswith(arn)}


def test_stack_outputs_name_the_active_and_standby_tables(green_with_standby):
    outputs = green_with_standby.stack_outputs
    assert (outputs["accounts_table"], outputs["ledger_table"]) == (
        naming.read_model_table(TENANT, "accounts", "green"), naming.read_model_table(TENANT, "ledger", "green"))
    assert (outputs["standby_accounts_table"], outputs["standby_ledger_table"]) == (
        naming.read_model_table(TENANT, "accounts", "blue"), naming.read_model_table(TENANT, "ledger", "blue"))


def test_local_reapply_plans_exactly_what_a_switch_changes(evaluated, green_with_standby):
    from tenantry.local.reapply import plan

    # GIVEN globex as applied (blue only) and as declared after a switch (green active, blue standby)
    # WHEN planning the local re-apply
    changes = plan(TENANT, evaluated[TENANT].declared(), green_with_standby.declared())
    # THEN the green tables are created, the data sources re-pointed, the projector reconfigured
    assert {r.inputs["name"] for r in changes.new_tables} == slot_tables("green")
    assert set(changes.data_source_tables.values()) == slot_tables("green")
    assert [r.inputs["name"] for r in changes.function_environments] == [naming.physical(TENANT, "projector")]


def test_local_reapply_refuses_what_it_cannot_apply_in_place(evaluated):
    import dataclasses

    from tenantry.local.reapply import UnappliableChangeError, plan

    # GIVEN a declaration whose stream changed
    old = evaluated[TENANT].declared()
    new = [dataclasses.replace(r, inputs={**r.inputs, "retentionPeriod": 48}) if r.type == ResourceType.STREAM
           else r for r in old]
    # WHEN / THEN
    with pytest.raises(UnappliableChangeError) as raised:
        plan(TENANT, old, new)
    assert raised.value.changes == [f"aws:kinesis/stream:Stream {TENANT}-stream-stream changes retentionPeriod"]
