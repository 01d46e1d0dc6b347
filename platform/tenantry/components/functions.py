"""A tenant Lambda function: packaged `lambdas/` zip, Powertools layer, its own encrypted log group,
environment variables encrypted with the tenant key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.handlers import settings

from . import naming

RUNTIME = "python3.11"
ARCHITECTURE = "x86_64"
LOG_RETENTION_DAYS = 30
# Powertools for AWS Lambda (Python) v3, public layer, one per Python version and architecture.
# The zip carries `lambdas/` only: in Lambda, Powertools AND pydantic come from this layer, not
# from pyproject. Pinned independently of pyproject's `aws-lambda-powertools==3.37.0` and
# `pydantic==2.14.4`, so when either pin (or this number) changes, check that the layer version
# carries the same Powertools and pydantic versions the tests ran with (`aws lambda
# get-layer-version-by-arn --arn <arn>`: its description names the Powertools release).
# A tenant can override the whole ARN with `powertools_layer_arn` in its tenant file (README,
# "Deploy a tenant").
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27


def powertools_layer_arn(region: str, runtime: str = RUNTIME, architecture: str = ARCHITECTURE) -> str:
    py = runtime.replace(".", "")
    return (f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{py}-{architecture}:{POWERTOOLS_LAYER_VERSION}")


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


class TenantFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup

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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, *args.depends_on]),
        )
        self.register_outputs({"arn": self.function.arn, "name": self.function.name})
