"""A tenant's CloudWatch dashboard: commands, rejections by type, iterator age, DLQ depth, projector
lag and publishes. Every metric line names a metric the platform emits: AWS's own (Lambda, SQS) by
the declared resources' names, the handlers' from the metrics contract (`lambdas.handlers.telemetry`),
so a widget can never chart a series nothing writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.handlers import telemetry
from lambdas.handlers.graphql_errors import rejection_types

from .alarms import ITERATOR_AGE_MS, PERIOD_SECONDS

WIDTH, HEIGHT, COLUMNS = 12, 6, 2


@dataclass(frozen=True)
class DashboardArgs:
    dashboard_name: str
    tenant: str
    region: str
    function_names: Mapping[str, pulumi.Input[str]]    # key -> function name
    consumers: tuple[str, ...]                          # keys of the stream-fed functions
    failure_queues: Mapping[str, pulumi.Input[str]]     # key -> queue name


def _flat(dimensions: Mapping[str, str]) -> list[str]:
    return [part for name, value in dimensions.items() for part in (name, value)]


def _app(metric: telemetry.Metric, tenant: str, **extra: str) -> list:
    return [telemetry.NAMESPACE, metric.name, *_flat({**metric.dimensions(tenant), **extra})]


def _widget(title: str, lines: list[list], stat: str, **properties: object) -> dict:
    return {"type": "metric", "properties": {"title": title, "metrics": lines, "stat": stat,
                                             "period": PERIOD_SECONDS, "view": "timeSeries", **properties}}


def widgets(tenant: str, functions: Mapping[str, str], consumers: tuple[str, ...],
            queues: Mapping[str, str]) -> list[dict]:
    """The widgets, without layout or region (plain names: called once the names are known)."""
    age_limit = {"annotations": {"horizontal": [{"label": "iterator-age alarm", "value": ITERATOR_AGE_MS}]}}
    lambda_metric = lambda metric, key: ["AWS/Lambda", metric, "FunctionName", functions[key]]  # noqa: E731
    return [
        _widget("Commands", [_app(m, tenant) for m in (telemetry.COMMANDS, telemetry.COMMANDS_REJECTED,
                                                        telemetry.INTERNAL_FAILURES)], "Sum"),
        _widget("Rejections by type", [_app(telemetry.COMMANDS_REJECTED, tenant, **{telemetry.ERROR_TYPE: t})
                                       for t in rejection_types()], "Sum"),
        _widget("Iterator age (ms)", [lambda_metric("IteratorAge", k) for k in consumers], "Maximum", **age_limit),
        _widget("DLQ depth", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queues[k]]
                              for k in sorted(queues)], "Maximum"),
        _widget("Projector lag (iterator age, ms) and events applied",
                [lambda_metric("IteratorAge", "projector"),
                 [*_app(telemetry.EVENTS_APPLIED, tenant), {"stat": "Sum", "yAxis": "right"}]],
                "Maximum", **age_limit),
        _widget("Publishes", [_app(m, tenant) for m in (telemetry.EVENTS_PUBLISHED, telemetry.PUBLISH_FAILURES,
                                                         telemetry.POISON_EVENTS)], "Sum"),
        _widget("Function errors and throttles", [lambda_metric(metric, k) for k in sorted(functions)
                                                  for metric in ("Errors", "Throttles")], "Sum"),
    ]


def dashboard_body(region: str, widgets: list[dict]) -> str:
    placed = [{**w, "x": (i % COLUMNS) * WIDTH, "y": (i // COLUMNS) * HEIGHT, "width": WIDTH, "height": HEIGHT,
               "properties": {**w["properties"], "region": region}} for i, w in enumerate(widgets)]
    return json.dumps({"widgets": placed}, sort_keys=True)


class Dashboard(pulumi.ComponentResource):
    dashboard: aws.cloudwatch.Dashboard

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:observability:Dashboard", name, None, opts)
        keys, queue_keys = sorted(args.function_names), sorted(args.failure_queues)
        body = pulumi.Output.all(*[args.function_names[k] for k in keys],
                                 *[args.failure_queues[k] for k in queue_keys]).apply(
            lambda names: dashboard_body(args.region, widgets(
                args.tenant, dict(zip(keys, names[:len(keys)])), args.consumers,
                dict(zip(queue_keys, names[len(keys):])))))
        self.dashboard = aws.cloudwatch.Dashboard(f"{name}-dashboard", dashboard_name=args.dashboard_name,
                                                  dashboard_body=body, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"name": self.dashboard.dashboard_name})
