"""The API key renewal as declared: a function with `appsync:UpdateApiKey` only, a schedule whose
role may invoke that function only, declared exactly where the tenant has an API key (the edge
tenant, a sandbox with a one-day key; the example tenants have none)."""

from __future__ import annotations

import json

import pytest

from lambdas.handlers import settings
from tenantry.components.key_renewal import RENEWAL_RATE, SCHEDULER_PRINCIPAL
from tenantry.components.naming import KEY_RENEWAL, KEY_RENEWAL_HANDLER, physical
from tenantry.inventory import ResourceType

pytestmark = pytest.mark.infra

SCHEDULE = "aws:scheduler/schedule:Schedule"


def of_type(resources, typ):
    return [r for r in resources if r.type == typ]


def renewal_function(tenant, resources):
    [fn] = [r for r in of_type(resources, ResourceType.FUNCTION) if r.inputs["name"] == physical(tenant, KEY_RENEWAL)]
    return fn


def policy_of(resources, role_name):
    [policy] = [r for r in of_type(resources, ResourceType.ROLE_POLICY) if r.inputs["role"] == role_name]
    return json.loads(policy.inputs["policy"])["Statement"]


@pytest.fixture(scope="module")
def sandbox(edge):
    """(tenant, resources, config) of the tenant with an API key."""
    from tests.infra.conftest import load_edge
    return edge.stack, edge.declared(), load_edge()


def test_renewal_is_declared_exactly_where_an_api_key_is(tenant, resources, sandbox):
    # GIVEN an example tenant (no key) THEN nothing renews anything
    assert of_type(resources, "aws:appsync/apiKey:ApiKey") == of_type(resources, SCHEDULE) == []
    assert not [r for r in of_type(resources, ResourceType.FUNCTION) if r.inputs["name"] == physical(tenant, KEY_RENEWAL)]
    # GIVEN the sandbox with a key THEN one schedule and one function renew it
    name, declared, _ = sandbox
    keys = of_type(declared, "aws:appsync/apiKey:ApiKey")
    assert len(of_type(declared, SCHEDULE)) == len(keys) == 1
    assert [renewal_function(name, declared)]


def test_the_function_renews_the_declared_key_for_the_tenants_lifetime(sandbox):
    tenant, resources, config = sandbox
    fn = renewal_function(tenant, resources)
    [api] = of_type(resources, ResourceType.GRAPHQL_API)
    [key] = of_type(resources, "aws:appsync/apiKey:ApiKey")
    assert fn.inputs["handler"] == KEY_RENEWAL_HANDLER
    variables = fn.inputs["environment"]["variables"]
    assert variables[settings.API_ID] == api.outputs["id"]
    assert variables[settings.API_KEY_ID] == key.outputs["apiKeyId"]
    assert variables[settings.API_KEY_EXPIRES_DAYS] == str(config.api_key_expires_days)


def test_the_functions_role_may_update_api_keys_and_nothing_else_of_appsync(sandbox):
    tenant, resources, _ = sandbox
    statements = policy_of(resources, physical(tenant, KEY_RENEWAL))
    appsync = [s for s in statements if any(a.startswith("appsync:") for a in s["Action"])]
    # `*`: UpdateApiKey has no resource type in IAM (a key ARN would never match)
    assert appsync == [{"Sid": "ApiKeyRenewal", "Effect": "Allow", "Action": ["appsync:UpdateApiKey"],
                        "Resource": ["*"]}]


def test_the_schedule_invokes_only_the_renewal_function_often_enough_for_the_shortest_key(sandbox):
    tenant, resources, _ = sandbox
    fn = renewal_function(tenant, resources)
    [schedule] = of_type(resources, SCHEDULE)
    target = schedule.inputs["target"]
    assert target["arn"] == fn.outputs["arn"]
    assert schedule.inputs["scheduleExpression"] == RENEWAL_RATE == "rate(12 hours)"   # < 1 day, the shortest key
    role = physical(tenant, "key-renewal-schedule")
    assert target["roleArn"].endswith(f":role/{role}")
    assert policy_of(resources, role) == [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                           "Resource": [fn.outputs["arn"]]}]
    [trust] = [json.loads(r.inputs["assumeRolePolicy"])["Statement"] for r in of_type(resources, "aws:iam/role:Role")
               if r.inputs["name"] == role]
    assert trust[0]["Principal"] == {"Service": SCHEDULER_PRINCIPAL}
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": fn.outputs["arn"].split(":")[4]}}


def test_a_failing_renewal_raises_the_errors_alarm(sandbox):
    tenant, resources, _ = sandbox
    alarms = {r.inputs["name"]: r.inputs for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    errors = alarms[physical(tenant, f"alarm-{KEY_RENEWAL}-errors")]
    assert errors["metricName"] == "Errors" and errors["dimensions"] == {"FunctionName": physical(tenant, KEY_RENEWAL)}


def test_the_edge_tenants_one_day_key_is_renewed_too(edge):
    resources = edge.declared()
    [schedule] = of_type(resources, SCHEDULE)
    assert schedule.inputs["scheduleExpression"] == RENEWAL_RATE
