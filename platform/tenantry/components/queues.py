"""On-failure destinations of the event source mappings: one KMS-encrypted SQS queue per mapping,
so a redrive knows exactly which function a failed batch belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

RETENTION_SECONDS = 14 * 24 * 3600   # the SQS maximum: time to notice, fix and redrive


@dataclass(frozen=True)
class FailureQueueArgs:
    queue_name: str
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]


class FailureQueue(pulumi.ComponentResource):
    queue: aws.sqs.Queue

    def __init__(self, name: str, args: FailureQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:reliability:FailureQueue", name, None, opts)
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=args.queue_name,
            message_retention_seconds=RETENTION_SECONDS,
            kms_master_key_id=args.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"url": self.queue.url, "arn": self.queue.arn})
