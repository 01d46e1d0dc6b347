"""Event source mappings with event-sourcing-safe presets: partial batch responses, bisect on error,
bounded retries and record age, an on-failure SQS destination, and start from the oldest record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.eventstore import keys

MAX_RETRY_ATTEMPTS = 5
MAX_RECORD_AGE_SECONDS = 6 * 3600     # within the 24 h stream retention: a stuck record reaches the DLQ
STARTING_POSITION = "TRIM_HORIZON"    # never skip events written before the mapping existed


def event_insert_filter() -> str:
    """Only inserts of event items reach the publisher (snapshot updates ride on event items)."""
    return json.dumps({"eventName": ["INSERT"],
                       "dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}})


@dataclass(frozen=True)
class StreamMappingArgs:
    function_name: pulumi.Input[str]
    event_source_arn: pulumi.Input[str]
    failure_queue_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    batch_size: int = 100
    parallelization_factor: int = 1
    filter_pattern: str | None = None
    maximum_batching_window_seconds: int = 0


class StreamMapping(pulumi.ComponentResource):
    mapping: aws.lambda_.EventSourceMapping

    def __init__(self, name: str, args: StreamMappingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:reliability:StreamMapping", name, None, opts)
        filters = None
        if args.filter_pattern is not None:
            filters = aws.lambda_.EventSourceMappingFilterCriteriaArgs(
                filters=[aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=args.filter_pattern)])
        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-mapping",
            function_name=args.function_name,
            event_source_arn=args.event_source_arn,
            starting_position=STARTING_POSITION,
            batch_size=args.batch_size,
            parallelization_factor=args.parallelization_factor,
            maximum_batching_window_in_seconds=args.maximum_batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=MAX_RETRY_ATTEMPTS,
            maximum_record_age_in_seconds=MAX_RECORD_AGE_SECONDS,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=args.failure_queue_arn)),
            filter_criteria=filters,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"uuid": self.mapping.uuid})
