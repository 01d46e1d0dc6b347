"""The schedule that runs a tenant's API key renewal function: EventBridge Scheduler, with a role
that may invoke that one function and nothing else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
# Twice a day: a 1-day key (the shortest) survives one failed run and the Scheduler's retries.
RENEWAL_RATE = "rate(12 hours)"
# What the renewal function may do: AppSync defines no resource type for API keys (the IAM service
# authorization reference lists UpdateApiKey with no resource types), so `*` is the only Resource
# that matches; a key ARN would never match and every renewal would be denied.
RENEWAL_ACTIONS = ("appsync:UpdateApiKey",)


@dataclass(frozen=True)
class KeyRenewalScheduleArgs:
    schedule_name: str
    role_name: str
    function_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    tags: Mapping[str, str]
    rate: str = RENEWAL_RATE


def scheduler_trust(account_id: str) -> str:
    """Only this account's schedules may assume the role (confused-deputy guard)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SCHEDULER_PRINCIPAL}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]}, sort_keys=True)


class KeyRenewalSchedule(pulumi.ComponentResource):
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: KeyRenewalScheduleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:api:KeyRenewalSchedule", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", name=args.role_name, tags=dict(args.tags), opts=child,
                            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(scheduler_trust))
        policy = aws.iam.RolePolicy(f"{name}-invoke", role=role.id, opts=child, policy=pulumi.Output.json_dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [args.function_arn]}]}))
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule", name=args.schedule_name, schedule_expression=args.rate,
            description="Extends the tenant's AppSync API key (lambdas.handlers.key_renewal)",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=args.function_arn, role_arn=role.arn,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=5, maximum_event_age_in_seconds=3600)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        self.register_outputs({"schedule_arn": self.schedule.arn, "role_arn": role.arn})
