"""The tenant's Kinesis stream of published events (partition key = aggregate id)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class EventStreamArgs:
    stream_name: str
    mode: str                      # ON_DEMAND | PROVISIONED
    shard_count: int | None
    retention_hours: int
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]


class EventStream(pulumi.ComponentResource):
    stream: aws.kinesis.Stream

    def __init__(self, name: str, args: EventStreamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:stream:EventStream", name, None, opts)
        self.stream = aws.kinesis.Stream(
            f"{name}-stream",
            name=args.stream_name,
            stream_mode_details=aws.kinesis.StreamStreamModeDetailsArgs(stream_mode=args.mode),
            shard_count=args.shard_count if args.mode == "PROVISIONED" else None,
            retention_period=args.retention_hours,
            encryption_type="KMS",
            kms_key_id=args.kms_key_arn,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"name": self.stream.name, "arn": self.stream.arn})
