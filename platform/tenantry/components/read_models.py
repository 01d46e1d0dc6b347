"""Read-model tables (accounts + byOwner GSI, ledger), keyed by `lambdas.banking.readmodel_keys`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.banking import readmodel_keys as rk

Attr = aws.dynamodb.TableAttributeArgs


@dataclass(frozen=True)
class ReadModelsArgs:
    accounts_table_name: str
    ledger_table_name: str
    kms_key_arn: pulumi.Input[str]
    deletion_protection: bool
    tags: Mapping[str, str]


class ReadModels(pulumi.ComponentResource):
    accounts: aws.dynamodb.Table
    ledger: aws.dynamodb.Table

    def __init__(self, name: str, args: ReadModelsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:readmodels:ReadModels", name, None, opts)
        common = dict(
            billing_mode="PAY_PER_REQUEST",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            deletion_protection_enabled=args.deletion_protection,
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.kms_key_arn),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.accounts = aws.dynamodb.Table(
            f"{name}-accounts",
            name=args.accounts_table_name,
            hash_key=rk.ACCOUNTS_PARTITION_KEY,
            attributes=[Attr(name=n, type="S") for n in sorted(
                {rk.ACCOUNTS_PARTITION_KEY, rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, rk.ACCOUNTS_BY_OWNER_SORT_KEY})],
            global_secondary_indexes=[aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=rk.ACCOUNTS_BY_OWNER_INDEX,
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, key_type="HASH"),
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=rk.ACCOUNTS_BY_OWNER_SORT_KEY, key_type="RANGE"),
                ],
                projection_type="ALL",
            )],
            **common,
        )
        self.ledger = aws.dynamodb.Table(
            f"{name}-ledger",
            name=args.ledger_table_name,
            hash_key=rk.LEDGER_PARTITION_KEY,
            range_key=rk.LEDGER_SORT_KEY,
            attributes=[Attr(name=rk.LEDGER_PARTITION_KEY, type="S"), Attr(name=rk.LEDGER_SORT_KEY, type="N")],
            **common,
        )
        self.register_outputs({"accounts": self.accounts.name, "ledger": self.ledger.name})
