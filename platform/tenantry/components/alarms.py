"""CloudWatch alarms of a tenant, notifying an encrypted SNS topic (and an e-mail, if configured).

Two kinds of alarm, both on one-minute periods over a five-minute window:
- BURST (errors, throttles, failed commands, DLQ depth): one breaching minute out of five alarms.
  Any such datapoint is a failure someone must see; waiting for five in a row let a 4-minute burst
  of failed commands notify nobody. 1 of 5 rather than 1 of 1: it fires as fast (the first bad
  minute), but returns to OK only after five clean minutes, so an intermittent failure is one
  ALARM/OK pair per incident, not one per bad minute.
- SUSTAINED (iterator age): five breaching minutes out of five. A consumer a minute behind during a
  spike catches up by itself; one that stays behind for five minutes does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.handlers import telemetry

ITERATOR_AGE_MS = 60_000     # a consumer a minute behind is falling behind, not just busy
PERIOD_SECONDS = 60
WINDOW_MINUTES = 5


@dataclass(frozen=True)
class Sensitivity:
    evaluation_periods: int
    datapoints_to_alarm: int


BURST = Sensitivity(evaluation_periods=WINDOW_MINUTES, datapoints_to_alarm=1)
SUSTAINED = Sensitivity(evaluation_periods=WINDOW_MINUTES, datapoints_to_alarm=WINDOW_MINUTES)


@dataclass(frozen=True)
class WatchedFunction:
    key: str                            # "projector", ... (used in logical names)
    function_name: pulumi.Input[str]
    stream_consumer: bool               # has an IteratorAge metric


@dataclass(frozen=True)
class AlarmsArgs:
    tenant: str
    topic_name: str
    alarm_prefix: str
    kms_key_arn: pulumi.Input[str]
    functions: Sequence[WatchedFunction]
    failure_queues: Mapping[str, pulumi.Input[str]]   # key -> queue name
    tags: Mapping[str, str]
    email: str | None = None


@dataclass(frozen=True)
class Watch:
    """One alarm: a metric, how it is aggregated per minute, and when it breaches."""
    suffix: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str
    threshold: float
    sensitivity: Sensitivity


def watches(args: AlarmsArgs) -> list[Watch]:
    """Every alarm of a tenant (the function's `Errors` miss failed commands: the command handler
    answers an internal failure as a GraphQL error, so Lambda counts a success; the handler's
    `InternalFailures` metric is what sees them)."""
    failed = telemetry.INTERNAL_FAILURES
    result = [Watch("command-internal-failures", "commands that failed inside the platform (InternalFailure)",
                    telemetry.NAMESPACE, failed.name, failed.dimensions(args.tenant), "Sum", 0, BURST)]
    for fn in args.functions:
        dims = {"FunctionName": fn.function_name}
        result += [
            Watch(f"{fn.key}-errors", f"{fn.key} function errors", "AWS/Lambda", "Errors", dims, "Sum", 0, BURST),
            Watch(f"{fn.key}-throttles", f"{fn.key} function throttled", "AWS/Lambda", "Throttles", dims, "Sum", 0,
                  BURST)]
        if fn.stream_consumer:
            result.append(Watch(f"{fn.key}-iterator-age", f"{fn.key} is falling behind its stream", "AWS/Lambda",
                                "IteratorAge", dims, "Maximum", ITERATOR_AGE_MS, SUSTAINED))
    for key, queue_name in sorted(args.failure_queues.items()):
        # Any message here is a batch that exhausted its retries: someone must look and redrive.
        result.append(Watch(f"{key}-dlq-depth", f"failed {key} batches waiting for redrive", "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum", 0, BURST))
    return result


class Alarms(pulumi.ComponentResource):
    topic: aws.sns.Topic

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:observability:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-topic", name=args.topic_name, kms_master_key_id=args.kms_key_arn,
                                   tags=dict(args.tags), opts=child)
        if args.email:
            aws.sns.TopicSubscription(f"{name}-email", topic=self.topic.arn, protocol="email",
                                      endpoint=args.email, opts=child)
        for w in watches(args):
            aws.cloudwatch.MetricAlarm(
                f"{name}-{w.suffix}", name=f"{args.alarm_prefix}-{w.suffix}", alarm_description=w.description,
                namespace=w.namespace, metric_name=w.metric, dimensions=dict(w.dimensions), statistic=w.statistic,
                period=PERIOD_SECONDS, evaluation_periods=w.sensitivity.evaluation_periods,
                datapoints_to_alarm=w.sensitivity.datapoints_to_alarm,
                threshold=w.threshold, comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching", alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn],
                tags=dict(args.tags), opts=child)
        self.register_outputs({"topic_arn": self.topic.arn})
