"""A tenant Lambda function: packaged `lambdas/` zip, Powertools layer, its own encrypted log group,
environment variables encrypted with the tenant key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.handlers import settings

from . import layers, naming
from .layers import ARCHITECTURE, RUNTIME

LOG_RETENTION_DAYS = 30
# In Lambda, Powertools AND pydantic come from the public Powertools layer, not from our zip: the
# runtime, the layer version and what it carries are declared once, in `layers.py`, and the
# Lambda-side tests run against exactly those versions (`requirements-lambda.lock`, `make test`).
# A tenant can override the whole ARN with `powertools_layer_arn` in its tenant file (README,
# "Deploy a tenant").


powertools_layer_arn = layers.layer_arn


@dataclass(frozen=True)
class TenantFunctionArgs:
    function_name: str
    handler: str
    role_arn: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    code_path: str
    source_code_hash: str
    layer_arn: str
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    timeout: int = 30
    memory_size: int = 512
    log_retention_days: int = LOG_RETENTION_DAYS
    depends_on: Sequence[pulumi.Resource] = ()
    # Lambda SnapStart (Python 3.12+): init runs once per published version and is restored from
    # a snapshot on a cold start. It applies to published versions only, so the function publishes
    # one per change and callers invoke an alias on the latest (`target_arn`). The function uses
    # none of what SnapStart excludes: provisioned concurrency, EFS, ephemeral storage > 512 MB.
    snap_start: bool = False


ALIAS = "live"   # with SnapStart: the alias callers invoke, always on the latest published version


class TenantFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup
    alias: aws.lambda_.Alias | None
    target_arn: pulumi.Output[str]     # what callers invoke: the alias with SnapStart, else the function

    def __init__(self, name: str, args: TenantFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:compute:TenantFunction", name, None, opts)
        unknown = sorted(set(args.environment) - set(settings.ALL))
        if unknown:
            raise ValueError(f"environment variables {unknown} are not in lambdas.handlers.settings.ALL")
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=naming.log_group(args.function_name), retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn, tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self))
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.handler,
            role=args.role_arn,
            code=pulumi.FileArchive(args.code_path),
            source_code_hash=args.source_code_hash,
            layers=[args.layer_arn],
            timeout=args.timeout,
            memory_size=args.memory_size,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
            kms_key_arn=args.kms_key_arn,   # environment variables at rest: the tenant key, not aws/lambda
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            tags=dict(args.tags),
            publish=args.snap_start or None,
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions") if args.snap_start else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, *args.depends_on]),
        )
        self.alias = aws.lambda_.Alias(
            f"{name}-alias", name=ALIAS, function_name=self.function.name, function_version=self.function.version,
            opts=pulumi.ResourceOptions(parent=self)) if args.snap_start else None
        self.target_arn = self.alias.arn if self.alias else self.function.arn
        self.register_outputs({"arn": self.function.arn, "name": self.function.name, "target_arn": self.target_arn})
