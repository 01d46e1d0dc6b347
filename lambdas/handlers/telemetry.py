"""The metrics contract: what the handlers emit (Powertools Metrics: CloudWatch embedded metric
format) and what the alarms and the dashboard read. Declared once here; both sides iterate over it.

Every metric is in `NAMESPACE` with the dimensions `service` (Powertools adds the handler's service)
and `tenant` (added per invocation by `for_tenant`): without the tenant, every tenant of an account
would count into one series and a per-tenant alarm could name none of them. Rejections are also
emitted once more per error type (`error_type`, one of `graphql_errors.rejection_types()`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Tenantry"
SERVICE = "service"          # Powertools' dimension: which handler emitted it
TENANT = "tenant"
ERROR_TYPE = "error_type"


@dataclass(frozen=True)
class Metric:
    service: str
    name: str

    def dimensions(self, tenant: str) -> dict[str, str]:
        return {SERVICE: self.service, TENANT: tenant}


COMMANDS = Metric("commands", "Commands")
COMMANDS_REJECTED = Metric("commands", "CommandsRejected")      # also per error type
INTERNAL_FAILURES = Metric("commands", "InternalFailures")
EVENTS_PUBLISHED = Metric("publisher", "EventsPublished")
PUBLISH_FAILURES = Metric("publisher", "PublishFailures")
POISON_EVENTS = Metric("publisher", "PoisonEvents")
EVENTS_APPLIED = Metric("projector", "EventsApplied")
READ_MODEL_WRITES = Metric("projector", "ReadModelWrites")
EVENTS_ARCHIVED = Metric("archiver", "EventsArchived")
# Only tenants with an API key have the renewal function (not in ALL: no alarm or widget reads it).
API_KEY_DAYS_LEFT = Metric("key-renewal", "ApiKeyDaysLeft")
ALL = (COMMANDS, COMMANDS_REJECTED, INTERNAL_FAILURES, EVENTS_PUBLISHED, PUBLISH_FAILURES, POISON_EVENTS,
       EVENTS_APPLIED, READ_MODEL_WRITES, EVENTS_ARCHIVED)


def handler_metrics(service: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=service)


def for_tenant(metrics: Metrics, tenant: str) -> None:
    """Call once per invocation, before any metric: Powertools clears dimensions at each flush."""
    metrics.add_dimension(name=TENANT, value=tenant)


def count(metrics: Metrics, metric: Metric, value: float = 1) -> None:
    metrics.add_metric(name=metric.name, unit=MetricUnit.Count, value=value)


def count_rejection(metrics: Metrics, tenant: str, error_type: str) -> None:
    """The rejection in the total and, as its own EMF record, under its error type."""
    count(metrics, COMMANDS_REJECTED)
    with single_metric(name=COMMANDS_REJECTED.name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE,
                       default_dimensions=COMMANDS_REJECTED.dimensions(tenant)) as one:
        one.add_dimension(name=ERROR_TYPE, value=error_type)
