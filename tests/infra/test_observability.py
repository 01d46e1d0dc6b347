"""Alarms that notice a short burst of failures, and the per-tenant dashboard (issue 10, item 6)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lambdas.handlers import telemetry
from tenantry.components.alarms import WINDOW_MINUTES
from tenantry.components.naming import physical
from tests.infra.policy_rules import watched_metrics_exist

pytestmark = pytest.mark.infra

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def alarms(resources) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in resources if r.type == ALARM}


def test_failures_alarm_on_one_bad_minute_and_iterator_age_on_a_sustained_window(checked_tenant):
    # GIVEN a tenant's alarms
    tenant, resources = checked_tenant
    declared = alarms(resources)
    # THEN errors, throttles, failed commands and DLQ depth breach on 1 minute out of 5 ...
    burst = {n: (a["evaluationPeriods"], a["datapointsToAlarm"], a["period"]) for n, a in declared.items()
             if a["metricName"] != "IteratorAge"}
    assert set(burst.values()) == {(WINDOW_MINUTES, 1, 60)}
    assert {a["metricName"] for n, a in declared.items() if n in burst} == {
        "Errors", "Throttles", "ApproximateNumberOfMessagesVisible", telemetry.INTERNAL_FAILURES.name}
    # ... and iterator age only when all 5 minutes breach
    sustained = {(a["evaluationPeriods"], a["datapointsToAlarm"]) for a in declared.values() if a["metricName"] == "IteratorAge"}
    assert sustained == {(WINDOW_MINUTES, WINDOW_MINUTES)}


def test_a_failed_command_is_noticed_through_the_handlers_metric(checked_tenant):
    # GIVEN the command function's Errors stay 0 on an InternalFailure (it answers a GraphQL error)
    tenant, resources = checked_tenant
    # THEN an alarm watches the handler's InternalFailures series of this tenant, as the handler emits it
    [failed] = [a for a in alarms(resources).values() if a["metricName"] == telemetry.INTERNAL_FAILURES.name]
    assert (failed["namespace"], failed["dimensions"], failed["statistic"], failed["threshold"]) == (
        telemetry.NAMESPACE, {"service": "commands", "tenant": tenant}, "Sum", 0)
    assert failed["alarmActions"] and failed["treatMissingData"] == "notBreaching"


def test_each_tenant_has_a_dashboard_of_its_own_series(checked_tenant):
    # GIVEN a tenant's dashboard
    tenant, resources = checked_tenant
    [board] = [r for r in resources if r.type == DASHBOARD]
    widgets = json.loads(board.inputs["dashboardBody"])["widgets"]
    # THEN it is named after the tenant, charts what issue 10 asks for, in the tenant's region ...
    assert board.inputs["dashboardName"] == physical(tenant, "dashboard")
    titles = [w["properties"]["title"] for w in widgets]
    for wanted in ("Commands", "Rejections by type", "Iterator age", "DLQ depth", "Projector lag", "Publishes"):
        assert any(t.startswith(wanted) for t in titles), wanted
    regions = {w["properties"]["region"] for w in widgets}
    assert len(regions) == 1 and regions <= {"eu-west-1", "us-east-1"}
    # ... every line a series this tenant emits (the rule also runs in test_policies.RULES)
    assert watched_metrics_exist(tenant, resources) == []
    # ... and rejections are broken down by every error type a command can be rejected with
    [by_type] = [w for w in widgets if w["properties"]["title"] == "Rejections by type"]
    from lambdas.handlers.graphql_errors import rejection_types
    assert [line[-1] for line in by_type["properties"]["metrics"]] == list(rejection_types())


def test_the_rule_catches_a_widget_or_an_alarm_on_a_series_nothing_emits(tenant, resources):
    # GIVEN the dashboard charting a metric without the tenant dimension (as the handlers emitted it
    # before), and the InternalFailures alarm on the AWS/Lambda namespace
    [board] = [r for r in resources if r.type == DASHBOARD]
    body = json.loads(board.inputs["dashboardBody"])
    body["widgets"][0]["properties"]["metrics"].append(["Tenantry", "Commands", "service", "commands"])
    [alarm] = [r for r in resources if r.type == ALARM and r.inputs["metricName"] == "InternalFailures"]
    tampered = [dataclasses.replace(board, inputs={**board.inputs, "dashboardBody": json.dumps(body)}) if r is board
                else dataclasses.replace(alarm, inputs={**alarm.inputs, "namespace": "AWS/Lambda"}) if r is alarm
                else r for r in resources]
    # WHEN / THEN both are reported
    problems = watched_metrics_exist(tenant, tampered)
    assert len(problems) == 2
    assert problems[0].startswith(f"{alarm.name}: alarms on AWS/Lambda/InternalFailures")
    assert problems[1].startswith(f"{board.name}: widget 'Commands' charts ['Tenantry', 'Commands', 'service', 'commands']")
