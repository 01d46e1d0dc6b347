"""CloudWatch alarms of a tenant, notifying an encrypted SNS topic (and an e-mail, if configured)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ITERATOR_AGE_MS = 60_000     # a consumer a minute behind is falling behind, not just busy
EVALUATION_MINUTES = 5


@dataclass(frozen=True)
class WatchedFunction:
    key: str                            # "projector", ... (used in logical names)
    function_name: pulumi.Input[str]
    stream_consumer: bool               # has an IteratorAge metric


@dataclass(frozen=True)
class AlarmsArgs:
    topic_name: str
    alarm_prefix: str
    kms_key_arn: pulumi.Input[str]
    functions: Sequence[WatchedFunction]
    failure_queues: Mapping[str, pulumi.Input[str]]   # key -> queue name
    tags: Mapping[str, str]
    email: str | None = None


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

        def alarm(suffix: str, metric: str, namespace: str, dimensions: Mapping[str, pulumi.Input[str]],
                  statistic: str, threshold: float, description: str) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}", name=f"{args.alarm_prefix}-{suffix}", alarm_description=description,
                namespace=namespace, metric_name=metric, dimensions=dict(dimensions), statistic=statistic,
                period=60, evaluation_periods=EVALUATION_MINUTES, datapoints_to_alarm=EVALUATION_MINUTES,
                threshold=threshold, comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching", alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn],
                tags=dict(args.tags), opts=child)

        for fn in args.functions:
            dims = {"FunctionName": fn.function_name}
            alarm(f"{fn.key}-errors", "Errors", "AWS/Lambda", dims, "Sum", 0, f"{fn.key} function errors")
            alarm(f"{fn.key}-throttles", "Throttles", "AWS/Lambda", dims, "Sum", 0, f"{fn.key} function throttled")
            if fn.stream_consumer:
                alarm(f"{fn.key}-iterator-age", "IteratorAge", "AWS/Lambda", dims, "Maximum", ITERATOR_AGE_MS,
                      f"{fn.key} is falling behind its stream")
        for key, queue_name in sorted(args.failure_queues.items()):
            # Any message here is a batch that exhausted its retries: someone must look and redrive.
            alarm(f"{key}-dlq-depth", "ApproximateNumberOfMessagesVisible", "AWS/SQS", {"QueueName": queue_name},
                  "Maximum", 0, f"failed {key} batches waiting for redrive")
        self.register_outputs({"topic_arn": self.topic.arn})
