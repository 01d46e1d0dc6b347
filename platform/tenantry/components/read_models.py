"""Read-model tables (accounts + byOwner GSI, ledger), keyed by `lambdas.banking.readmodel_keys`,
in blue/green slots: the active slot always, the standby slot when the tenant file asks for it
(the target of `tenantry replay`). Both slots get the same settings (KMS, PITR, tags, GSI).

No deletion protection: read models are rebuildable from the event store (DESIGN §6 asks it of
event tables only), and a retired slot must be droppable by setting `standby: false`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.banking import readmodel_keys as rk

from . import naming

Attr = aws.dynamodb.TableAttributeArgs


@dataclass(frozen=True)
class ReadModelsArgs:
    tenant: str
    active: str                  # "blue" | "green": the slot that serves
    standby: str | None          # the other slot, declared only when asked for
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class SlotTables:
    slot: str
    accounts: aws.dynamodb.Table
    ledger: aws.dynamodb.Table


class ReadModels(pulumi.ComponentResource):
    active: SlotTables
    standby: SlotTables | None

    def __init__(self, name: str, args: ReadModelsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:readmodels:ReadModels", name, None, opts)
        self._name, self._args = name, args
        self.active = self._slot(args.active)
        self.standby = self._slot(args.standby) if args.standby else None
        outputs = {"active": args.active, "accounts": self.active.accounts.name, "ledger": self.active.ledger.name}
        if self.standby:
            outputs.update(standby_accounts=self.standby.accounts.name, standby_ledger=self.standby.ledger.name)
        self.register_outputs(outputs)

    def _slot(self, slot: str) -> SlotTables:
        args, name = self._args, self._name
        common = dict(
            billing_mode="PAY_PER_REQUEST",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            deletion_protection_enabled=False,
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.kms_key_arn),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        accounts = aws.dynamodb.Table(
            f"{name}-accounts-{slot}",
            name=naming.read_model_table(args.tenant, "accounts", slot),
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
        ledger = aws.dynamodb.Table(
            f"{name}-ledger-{slot}",
            name=naming.read_model_table(args.tenant, "ledger", slot),
            hash_key=rk.LEDGER_PARTITION_KEY,
            range_key=rk.LEDGER_SORT_KEY,
            attributes=[Attr(name=rk.LEDGER_PARTITION_KEY, type="S"), Attr(name=rk.LEDGER_SORT_KEY, type="N")],
            **common,
        )
        return SlotTables(slot, accounts, ledger)
