"""The event-store table. Its key schema comes from `lambdas.eventstore.keys`, the same constants
the store and the publisher's filter criteria use, so the table and the code cannot drift.

DynamoDB deletion protection is always on (DESIGN §6: the event table is the system of record);
`protect` (the tenant file's `deletion_protection`) governs only Pulumi's `protect`. Destroying a
tenant therefore takes an explicit AWS CLI call first (README, "Destroy a tenant safely")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.eventstore import keys

STREAM_VIEW_TYPE = "NEW_IMAGE"   # the publisher needs the new event item only


@dataclass(frozen=True)
class EventStoreArgs:
    table_name: str
    kms_key_arn: pulumi.Input[str]
    protect: bool      # Pulumi `protect`; DynamoDB deletion protection does not depend on it
    tags: Mapping[str, str]


class EventStore(pulumi.ComponentResource):
    table: aws.dynamodb.Table

    def __init__(self, name: str, args: EventStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:eventstore:EventStore", name, None, opts)
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=keys.PARTITION_KEY,
            range_key=keys.SORT_KEY,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=keys.PARTITION_KEY, type=keys.PARTITION_KEY_TYPE),
                aws.dynamodb.TableAttributeArgs(name=keys.SORT_KEY, type=keys.SORT_KEY_TYPE),
            ],
            stream_enabled=True,
            stream_view_type=STREAM_VIEW_TYPE,
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            deletion_protection_enabled=True,
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=args.kms_key_arn),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.register_outputs({"name": self.table.name, "arn": self.table.arn, "stream_arn": self.table.stream_arn})
