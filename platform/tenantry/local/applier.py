"""Creates what a tenant's Pulumi program declares in the emulator and returns a `LocalTenant`.

Inputs arrive as Pulumi's mock runtime sees them (camelCase pulumi-aws inputs); physical names come
from the `name`/`bucket` input or, failing that, the mock outputs. Declared ARNs (mock outputs, fake
account 123456789012) are mapped to the emulator's real ARNs, resolving by name where they differ
(a DynamoDB stream ARN carries a label that only the emulator knows).

Created: DynamoDB tables (keys, attributes, GSIs, LSIs, stream, TTL), Kinesis streams (shard count
or on-demand), S3 buckets (+ versioning), SQS queues (+ redrive policies between declared queues),
Cognito user pools with their app clients and groups (`tenantry.local.cognito`).
Registered, not created: Lambda functions and event source mappings (run in-process by
`lambda_runtime` and `pollers`).
Recorded and skipped (control plane, no data): IAM, KMS keys and aliases (nothing is encrypted
locally), CloudWatch alarms/dashboards/log groups, SNS, X-Ray, EventBridge Scheduler schedules
(nothing runs on a schedule locally: the key renewal is never due in a dev run), AppSync pieces (the dev server reads
them from `LocalTenant.resources`), Lambda permissions, bucket public-access blocks, encryption,
ownership, policies and lifecycle rules, queue policies, DynamoDB contributor insights and tags,
Pulumi providers and component resources. Ignored table settings: PITR, SSE, deletion protection,
billing mode (moto does not meter). Anything else under `aws:` fails with `UnsupportedResourceError`,
because silently dropping a resource that holds or moves data would make local runs lie.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from tenantry.inventory import DeclaredResource, ResourceType
from tenantry.local import filters
from tenantry.local.cognito import create_user_pools
from tenantry.local.emulator import FAKE_ACCOUNT_ID, Emulator, stream_name, table_name
from tenantry.local.errors import (
    InvalidDeclarationError,
    UnresolvedReferenceError,
    UnsupportedResourceError,
)
from tenantry.local.model import (
    BucketInfo,
    EventSourceMapping,
    FunctionSpec,
    LocalTenant,
    QueueInfo,
    StreamInfo,
    TableInfo,
    find_function,
)

BUCKETS = (ResourceType.BUCKET_V2, ResourceType.BUCKET)
BUCKET_VERSIONING = ("aws:s3/bucketVersioningV2:BucketVersioningV2", "aws:s3/bucketVersioning:BucketVersioning")

Clients = Callable[[str], Any]     # service name -> boto3 client on the emulator

CONTROL_PLANE_MODULES = ("aws:iam/", "aws:kms/", "aws:sns/", "aws:appsync/", "aws:xray/", "aws:scheduler/")
CONTROL_PLANE_TYPES = frozenset({
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    "aws:cloudwatch/dashboard:Dashboard",
    ResourceType.LOG_GROUP,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    "aws:lambda/permission:Permission",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ResourceType.BUCKET_SSE,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:dynamodb/contributorInsights:ContributorInsights",
    "aws:dynamodb/tag:Tag",
})


def apply(
    resources: Iterable[DeclaredResource],
    emulator: Emulator,
    *,
    tenant: str | None = None,
    region: str | None = None,
) -> LocalTenant:
    """Create the declared data resources in `emulator`; register functions and mappings.

    `tenant` names the module namespace of the tenant's handlers (default: the TENANT_ID variable
    of its functions); `region` defaults to the emulator's.
    """
    resources = tuple(resources)
    region = region or emulator.region
    by_type: dict[str, list[DeclaredResource]] = {}
    recorded: list[DeclaredResource] = []
    for res in resources:
        if _is_control_plane(res.type):
            recorded.append(res)
        elif res.type in _HANDLED:
            by_type.setdefault(res.type, []).append(res)
        else:
            raise UnsupportedResourceError(res.type, res.name)

    def of(*types: str) -> list[DeclaredResource]:
        return [r for t in types for r in by_type.get(t, [])]

    clients = service_clients(emulator, region)
    arns: dict[str, str] = {}
    tables = {t.name: t for t in (_create_table(clients, r, arns) for r in of(ResourceType.TABLE))}
    streams = {s.name: s for s in (_create_stream(clients, r, arns) for r in of(ResourceType.STREAM))}
    buckets = {b.name: b for b in (_create_bucket(clients, region, r, arns) for r in of(*BUCKETS))}
    for res in of(*BUCKET_VERSIONING):
        _apply_versioning(clients, res, buckets)
    queues = _create_queues(clients, of(ResourceType.QUEUE), arns)
    user_pools = create_user_pools(clients, region, of(ResourceType.USER_POOL),
                                   of(ResourceType.USER_POOL_CLIENT), of(ResourceType.USER_GROUP), arns)
    functions = {f.name: f for f in (_function_spec(region, r, arns) for r in of(ResourceType.FUNCTION))}
    names = _Names(tables, streams, queues, arns)
    mappings = tuple(_mapping(r, names, functions) for r in of(ResourceType.MAPPING))
    return LocalTenant(
        tenant=tenant or _tenant_from(functions.values()),
        region=region,
        tables=tables,
        streams=streams,
        queues=queues,
        buckets=buckets,
        functions=functions,
        mappings=mappings,
        user_pools=user_pools,
        arns=arns,
        recorded=tuple(recorded),
        resources=resources,
    )


_HANDLED = frozenset({ResourceType.TABLE, ResourceType.STREAM, *BUCKETS, *BUCKET_VERSIONING,
                      ResourceType.QUEUE, ResourceType.FUNCTION, ResourceType.MAPPING,
                      ResourceType.USER_POOL, ResourceType.USER_POOL_CLIENT, ResourceType.USER_GROUP})


def service_clients(emulator: Emulator, region: str) -> Clients:
    """One client per service for a whole apply, made on first use (each costs milliseconds)."""
    return functools.cache(lambda service: emulator.client(service, region))


def _is_control_plane(type_token: str) -> bool:
    if not type_token.startswith("aws:"):
        return True  # providers, component resources, the stack itself
    return type_token in CONTROL_PLANE_TYPES or type_token.startswith(CONTROL_PLANE_MODULES)


def _physical(res: DeclaredResource, key: str = "name") -> str:
    value = res.inputs.get(key) or res.outputs.get(key)
    return str(value) if value else res.name


def _remember(arns: dict[str, str], declared: Any, real: str | None) -> None:
    if isinstance(declared, str) and declared and real:
        arns[declared] = real


# DynamoDB -------------------------------------------------------------------------------------
def _key_schema(res: DeclaredResource, field: str, spec: dict[str, Any]) -> list[dict[str, str]]:
    if spec.get("keySchemas"):
        keys = [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in spec["keySchemas"]]
        if sum(k["KeyType"] == "HASH" for k in keys) != 1 or len(keys) > 2:
            raise UnsupportedResourceError(res.type, res.name, f"{field}: multi-attribute keys")
        return sorted(keys, key=lambda k: k["KeyType"] != "HASH")
    if not spec.get("hashKey"):
        raise InvalidDeclarationError(res.type, res.name, f"{field}.hashKey", "missing")
    keys = [{"AttributeName": spec["hashKey"], "KeyType": "HASH"}]
    if spec.get("rangeKey"):
        keys.append({"AttributeName": spec["rangeKey"], "KeyType": "RANGE"})
    return keys


def _projection(spec: dict[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": spec.get("projectionType", "ALL")}
    if spec.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(spec["nonKeyAttributes"])
    return projection


def _create_table(clients: Clients, res: DeclaredResource, arns: dict[str, str]) -> TableInfo:
    i, name = res.inputs, _physical(res)
    throughput = {"ReadCapacityUnits": int(i.get("readCapacity") or 5),
                  "WriteCapacityUnits": int(i.get("writeCapacity") or 5)}
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": _key_schema(res, "table", i),
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i.get("attributes", [])
        ],
    }
    if i.get("billingMode", "PROVISIONED") == "PAY_PER_REQUEST":
        args["BillingMode"] = "PAY_PER_REQUEST"
    else:
        args["ProvisionedThroughput"] = throughput
    gsis = []
    for g in i.get("globalSecondaryIndexes") or []:
        gsi = {"IndexName": g["name"], "KeySchema": _key_schema(res, f"gsi {g['name']}", g),
               "Projection": _projection(g)}
        if "ProvisionedThroughput" in args:
            gsi["ProvisionedThroughput"] = throughput
        gsis.append(gsi)
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {"IndexName": l["name"], "Projection": _projection(l),
         "KeySchema": [args["KeySchema"][0], {"AttributeName": l["rangeKey"], "KeyType": "RANGE"}]}
        for l in i.get("localSecondaryIndexes") or []
    ]
    if lsis:
        args["LocalSecondaryIndexes"] = lsis
    if i.get("streamEnabled"):
        args["StreamSpecification"] = {"StreamEnabled": True,
                                       "StreamViewType": i.get("streamViewType") or "NEW_AND_OLD_IMAGES"}
    ddb = clients("dynamodb")
    table = ddb.create_table(**args)["TableDescription"]
    ttl = i.get("ttl") or {}
    if ttl.get("enabled") and ttl.get("attributeName"):
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": ttl["attributeName"]})
    info = TableInfo(res.name, name, table["TableArn"], table.get("LatestStreamArn"))
    _remember(arns, res.outputs.get("arn"), info.arn)
    _remember(arns, res.outputs.get("streamArn"), info.stream_arn)
    return info


# Kinesis, S3, SQS ------------------------------------------------------------------------------
def _create_stream(clients: Clients, res: DeclaredResource, arns: dict[str, str]) -> StreamInfo:
    i, name = res.inputs, _physical(res)
    kinesis = clients("kinesis")
    mode = (i.get("streamModeDetails") or {}).get("streamMode", "PROVISIONED")
    if mode == "ON_DEMAND":
        kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    else:
        kinesis.create_stream(StreamName=name, ShardCount=int(i.get("shardCount") or 1))
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    _remember(arns, res.outputs.get("arn"), arn)
    return StreamInfo(res.name, name, arn)


def _create_bucket(clients: Clients, region: str, res: DeclaredResource, arns: dict[str, str]) -> BucketInfo:
    name = res.inputs.get("bucket") or res.outputs.get("bucket") or res.outputs.get("id")
    if not name:
        name = f"{res.inputs.get('bucketPrefix', '')}{res.name}".lower()
    s3 = clients("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    _remember(arns, res.outputs.get("arn"), f"arn:aws:s3:::{name}")
    return BucketInfo(res.name, name)


def _apply_versioning(clients: Clients, res: DeclaredResource, buckets: dict[str, BucketInfo]) -> None:
    bucket = res.inputs.get("bucket")
    if bucket not in buckets:
        raise UnresolvedReferenceError(res.name, "bucket", str(bucket))
    status = (res.inputs.get("versioningConfiguration") or {}).get("status", "Enabled")
    if status in ("Enabled", "Suspended"):
        clients("s3").put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": status})


_QUEUE_ATTRIBUTES = {
    "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
}


def _create_queues(clients: Clients, declared: list[DeclaredResource],
                   arns: dict[str, str]) -> dict[str, QueueInfo]:
    sqs = clients("sqs")
    queues: dict[str, QueueInfo] = {}
    for res in declared:
        name = _physical(res)
        attributes = {
            aws: (str(res.inputs[key]).lower() if isinstance(res.inputs[key], bool) else str(res.inputs[key]))
            for key, aws in _QUEUE_ATTRIBUTES.items() if res.inputs.get(key) is not None
        }
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[name] = QueueInfo(res.name, name, url, arn)
        _remember(arns, res.outputs.get("arn"), arn)
    # Redrive policies name other queues by ARN, so they wait until every queue exists.
    names = _Names({}, {}, queues, arns)
    for res in declared:
        policy = res.inputs.get("redrivePolicy")
        if policy:
            policy = json.loads(policy) if isinstance(policy, str) else dict(policy)
            policy["deadLetterTargetArn"] = names.queue(res.name, "redrivePolicy", policy["deadLetterTargetArn"]).arn
            sqs.set_queue_attributes(QueueUrl=queues[_physical(res)].url,
                                     Attributes={"RedrivePolicy": json.dumps(policy)})
    return queues


# Lambda -----------------------------------------------------------------------------------------
def _function_spec(region: str, res: DeclaredResource, arns: dict[str, str]) -> FunctionSpec:
    i, name = res.inputs, _physical(res)
    if i.get("packageType") == "Image":
        raise UnsupportedResourceError(res.type, res.name, "container image functions")
    if not i.get("handler"):
        raise InvalidDeclarationError(res.type, res.name, "handler", "missing")
    variables = ((i.get("environment") or {}).get("variables")) or {}
    arn = f"arn:aws:lambda:{region}:{FAKE_ACCOUNT_ID}:function:{name}"
    _remember(arns, res.outputs.get("arn"), arn)
    return FunctionSpec(
        logical_name=res.name,
        name=name,
        handler=str(i["handler"]),
        environment={str(k): str(v) for k, v in variables.items()},
        arn=arn,
        timeout_s=int(i.get("timeout") or 3),
        memory_mb=int(i.get("memorySize") or 128),
        runtime=str(i.get("runtime") or "python3.11"),
    )


class _Names:
    """Resolves declared ARNs to what exists in the emulator: exact match first, then by name."""

    def __init__(self, tables: dict[str, TableInfo], streams: dict[str, StreamInfo],
                 queues: dict[str, QueueInfo], arns: dict[str, str]) -> None:
        self.tables, self.streams, self.queues, self.arns = tables, streams, queues, arns

    def source(self, owner: str, field: str, ref: str) -> tuple[str, str]:
        real = self.arns.get(ref, ref)
        parts = real.split(":", 5)
        service, resource = (parts[2], parts[5]) if len(parts) == 6 else ("", "")
        if service == "dynamodb" and "/stream/" in resource:
            table = self.tables.get(table_name(real))
            if table is not None and table.stream_arn:
                return "dynamodb", table.stream_arn
        if service == "kinesis" and resource.startswith("stream/"):
            stream = self.streams.get(stream_name(real))
            if stream is not None:
                return "kinesis", stream.arn
        if service in ("sqs", "kafka", "mq"):
            raise UnsupportedResourceError(ResourceType.MAPPING, owner, f"{service} event sources")
        raise UnresolvedReferenceError(owner, field, ref)

    def queue(self, owner: str, field: str, ref: str) -> QueueInfo:
        real = self.arns.get(ref, ref)
        parts = real.split(":")
        if len(parts) == 6 and parts[2] == "sqs" and parts[5] in self.queues:
            return self.queues[parts[5]]
        if len(parts) >= 3 and parts[2] != "sqs":
            raise UnsupportedResourceError(ResourceType.MAPPING, owner, f"{field}: only SQS on-failure destinations")
        raise UnresolvedReferenceError(owner, field, ref)


def _mapping(res: DeclaredResource, names: _Names, functions: dict[str, FunctionSpec]) -> EventSourceMapping:
    i = res.inputs
    if i.get("tumblingWindowInSeconds"):
        raise UnsupportedResourceError(res.type, res.name, "tumbling windows")
    kind, source_arn = names.source(res.name, "eventSourceArn", str(i.get("eventSourceArn", "")))
    function_ref = str(i.get("functionName", ""))
    function = find_function(functions, names.arns.get(function_ref, function_ref))
    if function is None:
        raise UnresolvedReferenceError(res.name, "functionName", function_ref)
    destination = (((i.get("destinationConfig") or {}).get("onFailure")) or {}).get("destinationArn")
    queue = names.queue(res.name, "destinationConfig.onFailure.destinationArn", destination) if destination else None
    patterns = tuple(
        filters.parse_pattern(f.get("pattern"), kind)
        for f in ((i.get("filterCriteria") or {}).get("filters") or [])
    )
    timestamp = i.get("startingPositionTimestamp")
    return EventSourceMapping(
        logical_name=res.name,
        function_name=function.name,
        source_kind=kind,
        source_arn=source_arn,
        batch_size=int(i.get("batchSize") or 100),
        batching_window_s=float(i.get("maximumBatchingWindowInSeconds") or 0),
        filter_patterns=patterns,
        report_batch_item_failures="ReportBatchItemFailures" in (i.get("functionResponseTypes") or []),
        bisect_on_error=bool(i.get("bisectBatchOnFunctionError")),
        max_retry_attempts=_int_or(i.get("maximumRetryAttempts"), -1),
        max_record_age_s=_int_or(i.get("maximumRecordAgeInSeconds"), -1),
        on_failure_queue_url=queue.url if queue else None,
        on_failure_arn=queue.arn if queue else None,
        starting_position=str(i.get("startingPosition") or "LATEST"),
        starting_position_timestamp=_epoch(timestamp) if timestamp else None,
        parallelization_factor=int(i.get("parallelizationFactor") or 1),
        enabled=i.get("enabled", True) is not False,
    )


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _tenant_from(functions: Iterable[FunctionSpec]) -> str:
    for spec in functions:
        if spec.environment.get("TENANT_ID"):
            return spec.environment["TENANT_ID"]
    return "default"
