"""The tenant's customer-managed KMS key: encrypts its tables, stream, bucket, queues, topic and
function logs and environment variables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import naming

LOG_ARN_CONTEXT = "kms:EncryptionContext:aws:logs:arn"


@dataclass(frozen=True)
class TenantKeyArgs:
    tenant: str
    region: str
    account_id: pulumi.Input[str]
    tags: Mapping[str, str]
    # The log groups CloudWatch Logs may encrypt with this key, by exact name. Names, not a
    # `tenantry-<t>-*` pattern: a pattern would also match a tenant called `<t>-corp`.
    log_group_names: Sequence[str]
    # Log groups whose names the key cannot know when it is created (an AppSync API's group holds
    # the API id), as ARN patterns within the tenant's account and region: `/aws/appsync/apis/*`.
    log_group_patterns: Sequence[str] = ()
    deletion_window_days: int = 30


def log_group_arn(region: str, account_id: str, log_group_name: str) -> str:
    """The ARN CloudWatch Logs puts in the encryption context (no trailing `:*`)."""
    return f"arn:aws:logs:{region}:{account_id}:log-group:{log_group_name}"


def _logs_statement(sid: str, region: str, operator: str, arns: list[str]) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*", "Condition": {operator: {LOG_ARN_CONTEXT: arns}}}


def key_policy(region: str, account_id: str, log_group_names: Sequence[str],
               log_group_patterns: Sequence[str] = ()) -> str:
    """Key policies are resource policies: `Resource: *` means "this key" (the only legal form)."""
    root = f"arn:aws:iam::{account_id}:root"
    statements = [
        {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "AlarmsPublishToEncryptedTopic", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}},
    ]
    if log_group_patterns:
        patterns = sorted(log_group_arn(region, account_id, p) for p in log_group_patterns)
        statements.insert(1, _logs_statement("ServiceNamedLogGroups", region, "ArnLike", patterns))
    if log_group_names:
        arns = sorted(log_group_arn(region, account_id, name) for name in log_group_names)
        statements.insert(1, _logs_statement("TenantLogGroups", region, "ArnEquals", arns))
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class TenantKey(pulumi.ComponentResource):
    key: aws.kms.Key
    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: TenantKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:security:TenantKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        log_groups, patterns = tuple(args.log_group_names), tuple(args.log_group_patterns)
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"Tenantry tenant {args.tenant}: data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: key_policy(args.region, account, log_groups, patterns)),
            tags=dict(args.tags),
            opts=child,
        )
        aws.kms.Alias(f"{name}-alias", name=naming.kms_alias(args.tenant), target_key_id=self.key.key_id, opts=child)
        self.arn = self.key.arn
        self.key_id = self.key.key_id
        self.register_outputs({"arn": self.arn, "key_id": self.key_id})
