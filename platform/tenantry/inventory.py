"""What the Pulumi program declares for a tenant, as plain data.

`tenantry preview` prints it and `tenantry dev` provisions the local platform from it, so there is
no second, hand-written description of the infrastructure (DESIGN section 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeclaredResource:
    type: str                      # Pulumi type token, e.g. "aws:dynamodb/table:Table"
    name: str                      # logical name
    inputs: dict[str, Any]         # resolved inputs, camelCase as the provider sees them
    outputs: dict[str, Any] = field(default_factory=dict)  # mock outputs (arn, id, name, ...)
    parent: str | None = None      # parent URN
    urn: str = ""


class ResourceType:
    """The Pulumi type tokens that code reading a declaration looks for (the local applier, the
    dev server, policy rules): one spelling, here."""

    TABLE = "aws:dynamodb/table:Table"
    STREAM = "aws:kinesis/stream:Stream"
    BUCKET = "aws:s3/bucket:Bucket"
    BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
    BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    QUEUE = "aws:sqs/queue:Queue"
    FUNCTION = "aws:lambda/function:Function"
    MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
    ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
    KEY = "aws:kms/key:Key"
    LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
    GRAPHQL_API = "aws:appsync/graphQLApi:GraphQLApi"
    DATA_SOURCE = "aws:appsync/dataSource:DataSource"
    RESOLVER = "aws:appsync/resolver:Resolver"
    USER_POOL = "aws:cognito/userPool:UserPool"
    USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
    USER_GROUP = "aws:cognito/userGroup:UserGroup"
    SCHEDULE = "aws:scheduler/schedule:Schedule"
