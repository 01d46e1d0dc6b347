"""Hand-written DeclaredResource lists, shaped exactly as Pulumi's mock runtime reports pulumi-aws
resources (camelCase inputs; mock outputs with the fake account's ARNs), until
`tenantry.mocks.declare` exists."""

from __future__ import annotations

import json

from lambdas.banking import readmodel_keys as rk
from lambdas.eventstore import keys
from lambdas.handlers import settings
from tenantry.inventory import DeclaredResource

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PROBE = "tests.functional.local_support.probe.handler"
CONSUMER = "tests.functional.local_support.consumer.handler"


def events_table(tenant: str) -> DeclaredResource:
    name = f"{tenant}-events"
    return DeclaredResource(
        type="aws:dynamodb/table:Table", name=f"{tenant}-events",
        inputs={
            "name": name, "billingMode": "PAY_PER_REQUEST",
            "hashKey": keys.PARTITION_KEY, "rangeKey": keys.SORT_KEY,
            "attributes": [{"name": keys.PARTITION_KEY, "type": keys.PARTITION_KEY_TYPE},
                           {"name": keys.SORT_KEY, "type": keys.SORT_KEY_TYPE}],
            "streamEnabled": True, "streamViewType": "NEW_IMAGE",
            "pointInTimeRecovery": {"enabled": True}, "deletionProtectionEnabled": True,
        },
        outputs={"name": name, "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
                 "streamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/stream/2024-01-01T00:00:00.000"},
    )


def accounts_table(tenant: str) -> DeclaredResource:
    name = f"{tenant}-accounts"
    return DeclaredResource(
        type="aws:dynamodb/table:Table", name=name,
        inputs={
            "name": name, "billingMode": "PAY_PER_REQUEST", "hashKey": rk.ACCOUNTS_PARTITION_KEY,
            "attributes": [{"name": rk.ACCOUNTS_PARTITION_KEY, "type": "S"},
                           {"name": rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, "type": "S"}],
            "globalSecondaryIndexes": [{
                "name": rk.ACCOUNTS_BY_OWNER_INDEX, "projectionType": "ALL",
                "keySchemas": [{"attributeName": rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, "keyType": "HASH"},
                               {"attributeName": rk.ACCOUNTS_BY_OWNER_SORT_KEY, "keyType": "RANGE"}],
            }],
        },
        outputs={"name": name, "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"},
    )


def stream(tenant: str, shards: int = 2) -> DeclaredResource:
    name = f"{tenant}-events"
    return DeclaredResource(
        type="aws:kinesis/stream:Stream", name=f"{tenant}-stream",
        inputs={"name": name, "shardCount": shards, "streamModeDetails": {"streamMode": "PROVISIONED"},
                "encryptionType": "KMS"},
        outputs={"name": name, "arn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"},
    )


def queue(tenant: str, purpose: str = "dlq") -> DeclaredResource:
    name = f"{tenant}-{purpose}"
    return DeclaredResource(
        type="aws:sqs/queue:Queue", name=name,
        inputs={"name": name, "messageRetentionSeconds": 1209600, "sqsManagedSseEnabled": True},
        outputs={"name": name, "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                 "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"},
    )


def bucket(tenant: str) -> DeclaredResource:
    name = f"{tenant}-archive"
    return DeclaredResource(type="aws:s3/bucketV2:BucketV2", name=f"{tenant}-archive",
                            inputs={"bucket": name}, outputs={"bucket": name, "id": name,
                                                              "arn": f"arn:aws:s3:::{name}"})


def function(tenant: str, purpose: str, handler: str, **variables: str) -> DeclaredResource:
    name = f"{tenant}-{purpose}"
    return DeclaredResource(
        type="aws:lambda/function:Function", name=name,
        inputs={"name": name, "handler": handler, "runtime": "python3.11", "memorySize": 256, "timeout": 10,
                "role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
                "environment": {"variables": {settings.TENANT_ID: tenant,
                                              settings.EVENTS_TABLE: f"{tenant}-events", **variables}}},
        outputs={"name": name, "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"},
    )


def mapping(source: DeclaredResource, target: DeclaredResource, dlq: DeclaredResource | None = None,
            *, source_output: str = "arn", patterns: tuple[dict, ...] = (), **settings_: object) -> DeclaredResource:
    inputs: dict[str, object] = {
        "eventSourceArn": source.outputs[source_output],
        "functionName": target.outputs["arn"],
        "startingPosition": "TRIM_HORIZON",
        "batchSize": 10,
        "maximumBatchingWindowInSeconds": 0,
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "bisectBatchOnFunctionError": False,
        "maximumRetryAttempts": 2,
        "maximumRecordAgeInSeconds": -1,
        "parallelizationFactor": 1,
        **settings_,
    }
    if patterns:
        inputs["filterCriteria"] = {"filters": [{"pattern": json.dumps(p)} for p in patterns]}
    if dlq is not None:
        inputs["destinationConfig"] = {"onFailure": {"destinationArn": dlq.outputs["arn"]}}
    return DeclaredResource(type="aws:lambda/eventSourceMapping:EventSourceMapping",
                            name=f"{target.name}-from-{source.name}", inputs=inputs,
                            outputs={"uuid": f"{target.name}-{source.name}"})


def control_plane(tenant: str) -> list[DeclaredResource]:
    return [
        DeclaredResource(type="aws:iam/role:Role", name=f"{tenant}-role", inputs={"assumeRolePolicy": "{}"}),
        DeclaredResource(type="aws:kms/key:Key", name=f"{tenant}-key", inputs={}),
        DeclaredResource(type="aws:cloudwatch/metricAlarm:MetricAlarm", name=f"{tenant}-dlq-alarm", inputs={}),
        DeclaredResource(type="aws:appsync/graphQLApi:GraphQLApi", name=f"{tenant}-api", inputs={}),
        DeclaredResource(type="tenantry:store:EventStore", name=f"{tenant}-store", inputs={}),
    ]
