"""Least-privilege execution roles. Every statement names resources of this tenant only, except
actions IAM defines on no resource type (they can only be granted on "*"): X-Ray's writes, and
DynamoDB Streams' ListStreams for the publisher's event source mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

LAMBDA_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}, sort_keys=True)

XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[pulumi.Input[str], ...]


@dataclass(frozen=True)
class FunctionRoleArgs:
    role_name: str
    grants: Sequence[Grant]
    tags: Mapping[str, str]


def policy_document(grants: Sequence[tuple[str, tuple[str, ...], list[str]]]) -> str:
    statements = [{"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": sorted(resources)}
                  for sid, actions, resources in grants]
    statements.append({"Sid": "Tracing", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class FunctionRole(pulumi.ComponentResource):
    role: aws.iam.Role

    def __init__(self, name: str, args: FunctionRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:iam:FunctionRole", name, None, opts)
        self.role = aws.iam.Role(f"{name}-role", name=args.role_name, assume_role_policy=LAMBDA_TRUST,
                                 tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self))
        grants = list(args.grants)
        resolved = pulumi.Output.all(*[pulumi.Output.all(*g.resources) for g in grants]).apply(
            lambda per_grant: policy_document(
                [(g.sid, g.actions, list(res)) for g, res in zip(grants, per_grant)]))
        self.policy = aws.iam.RolePolicy(f"{name}-policy", name="least-privilege", role=self.role.id,
                                         policy=resolved, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"arn": self.role.arn, "name": self.role.name})
