"""Policy rules as plain functions: `rule(tenant, resources) -> list[str]` of violations.

They run over every resource of every example tenant (tests/infra/test_policies.py) and read only
the declared data, as a policy pack would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from tenantry.components.naming import physical
from tenantry.inventory import DeclaredResource

TABLE = "aws:dynamodb/table:Table"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"

# Services whose actions read or write tenant data: a `*` resource there is never acceptable.
DATA_SERVICES = ("dynamodb", "s3", "kinesis", "sqs", "sns", "kms", "lambda", "appsync", "logs", "secretsmanager")
# Types that accept `tags` (checked against the provider's schema by construction: these all do).
TAGGABLE_PREFIXES = ("aws:dynamodb/table", "aws:kinesis/stream", "aws:s3/bucket:Bucket", "aws:sqs/queue",
                     "aws:sns/topic:Topic", "aws:kms/key", "aws:iam/role:Role", "aws:lambda/function",
                     "aws:lambda/eventSourceMapping", "aws:cloudwatch/logGroup", "aws:cloudwatch/metricAlarm",
                     "aws:appsync/graphQLApi")

Rule = Callable[[str, Sequence[DeclaredResource]], list[str]]


def of_type(resources: Sequence[DeclaredResource], typ: str) -> list[DeclaredResource]:
    return [r for r in resources if r.type == typ]


def encryption_at_rest(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    bad = []
    for r in resources:
        i = r.inputs
        if r.type == TABLE and not (i.get("serverSideEncryption") or {}).get("kmsKeyArn"):
            bad.append(f"{r.name}: table without SSE-KMS")
        if r.type == "aws:kinesis/stream:Stream" and (i.get("encryptionType") != "KMS" or not i.get("kmsKeyId")):
            bad.append(f"{r.name}: stream without KMS")
        if r.type in ("aws:sqs/queue:Queue", "aws:sns/topic:Topic") and not i.get("kmsMasterKeyId"):
            bad.append(f"{r.name}: {r.type} without KMS")
        if r.type == "aws:cloudwatch/logGroup:LogGroup" and not i.get("kmsKeyId"):
            bad.append(f"{r.name}: log group without KMS")
    buckets = {r.outputs["id"] for r in of_type(resources, BUCKET)}
    encrypted = {r.inputs["bucket"] for r in resources
                 if r.type == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
                 and all(rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
                         for rule in r.inputs["rules"])}
    bad += [f"{b}: bucket without SSE-KMS" for b in sorted(buckets - encrypted)]
    return bad


def tables_recoverable(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    return [f"{r.name}: no point-in-time recovery" for r in of_type(resources, TABLE)
            if not (r.inputs.get("pointInTimeRecovery") or {}).get("enabled")]


def deletion_protection_follows_config(expected: bool) -> Rule:
    """Event tables follow the tenant file; read models (rebuildable, blue/green slots that must be
    droppable) never carry deletion protection."""
    def rule(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
        events = physical(tenant, "events")
        return [f"{r.name}: deletionProtectionEnabled != {want}" for r in of_type(resources, TABLE)
                for want in [expected if r.inputs.get("name") == events else False]
                if bool(r.inputs.get("deletionProtectionEnabled")) is not want]
    return rule


def buckets_private_and_tls_only(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    bad = []
    for b in of_type(resources, BUCKET):
        name = b.outputs["id"]
        blocks = [r for r in resources if r.type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
                  and r.inputs.get("bucket") == name]
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        if not blocks or not all(blocks[0].inputs.get(f) is True for f in flags):
            bad.append(f"{name}: public access not fully blocked")
        policies = [json.loads(r.inputs["policy"]) for r in resources
                    if r.type == "aws:s3/bucketPolicy:BucketPolicy" and r.inputs.get("bucket") == name]
        tls = any(s.get("Effect") == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                  for p in policies for s in p["Statement"])
        if not tls:
            bad.append(f"{name}: no TLS-only bucket policy")
    return bad


def tags_everywhere(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    bad = []
    for r in resources:
        if r.type.startswith(TAGGABLE_PREFIXES):
            tags = r.inputs.get("tags") or {}
            if tags.get("tenant") != tenant or not tags.get("tier"):
                bad.append(f"{r.type} {r.name}: missing tenant/tier tags")
    return bad


def stream_mappings_safe(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    bad = []
    for r in of_type(resources, ESM):
        i = r.inputs
        checks = {
            "partial batch responses": i.get("functionResponseTypes") == ["ReportBatchItemFailures"],
            "bisect on error": i.get("bisectBatchOnFunctionError") is True,
            "bounded retries": 0 <= i.get("maximumRetryAttempts", -1) <= 10,
            "bounded record age": 60 <= i.get("maximumRecordAgeInSeconds", -1) <= 86_400,
            "on-failure destination": bool(((i.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")),
            "TRIM_HORIZON": i.get("startingPosition") == "TRIM_HORIZON",
        }
        bad += [f"{r.name}: {what}" for what, ok in checks.items() if not ok]
    return bad


def _statements(policy: str) -> list[dict]:
    statements = json.loads(policy)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def iam_tenant_scoped(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """Every Resource in every inline policy is (a path under) an ARN this tenant declares."""
    own = sorted({v for r in resources for k, v in r.outputs.items()
                  if isinstance(v, str) and v.startswith("arn:") and (k == "arn" or k.endswith("Arn"))},
                 key=len, reverse=True)

    def names_own(arn: str) -> bool:
        arn = arn.removesuffix(":*")
        return any(arn == o or arn.startswith(o + "/") or arn.startswith(o + ":") for o in own)

    bad = []
    for r in of_type(resources, ROLE_POLICY):
        for s in _statements(r.inputs["policy"]):
            actions = _as_list(s["Action"])
            for res in _as_list(s["Resource"]):
                if res == "*":
                    data = [a for a in actions if a.split(":")[0] in DATA_SERVICES or a == "*"]
                    if data:
                        bad.append(f"{r.name}: '*' resource on data actions {data}")
                elif not names_own(res):
                    bad.append(f"{r.name}: {res} is not a resource of tenant {tenant}")
    return bad


RULES: tuple[Rule, ...] = (encryption_at_rest, tables_recoverable, buckets_private_and_tls_only, tags_everywhere,
                           stream_mappings_safe, iam_tenant_scoped)
