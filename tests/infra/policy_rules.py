"""Policy rules as plain functions: `rule(tenant, resources) -> list[str]` of violations.

They run over every resource of every example tenant (tests/infra/test_policies.py) and read only
the declared data, as a policy pack would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from lambdas.handlers import settings
from tenantry.components.key_renewal import RENEWAL_ACTIONS
from tenantry.components.keys import LOG_ARN_CONTEXT, log_group_arn
from tenantry.components.naming import HANDLERS, log_group, physical
from tenantry.inventory import DeclaredResource, ResourceType
from tests.infra.iam_catalog import catalog_problems, wildcard_only

# Services whose actions read or write tenant data (a role using them needs the data's key).
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
        if r.type == ResourceType.TABLE and not (i.get("serverSideEncryption") or {}).get("kmsKeyArn"):
            bad.append(f"{r.name}: table without SSE-KMS")
        if r.type == ResourceType.STREAM and (i.get("encryptionType") != "KMS" or not i.get("kmsKeyId")):
            bad.append(f"{r.name}: stream without KMS")
        if r.type in (ResourceType.QUEUE, "aws:sns/topic:Topic") and not i.get("kmsMasterKeyId"):
            bad.append(f"{r.name}: {r.type} without KMS")
        if r.type == ResourceType.LOG_GROUP and not i.get("kmsKeyId"):
            bad.append(f"{r.name}: log group without KMS")
        if r.type == ResourceType.FUNCTION and not i.get("kmsKeyArn"):
            bad.append(f"{r.name}: function environment without the tenant key")
    buckets = {r.outputs["id"] for r in of_type(resources, ResourceType.BUCKET)}
    encrypted = {r.inputs["bucket"] for r in of_type(resources, ResourceType.BUCKET_SSE)
                 if all(rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
                        for rule in r.inputs["rules"])}
    bad += [f"{b}: bucket without SSE-KMS" for b in sorted(buckets - encrypted)]
    return bad


def tables_recoverable(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    return [f"{r.name}: no point-in-time recovery" for r in of_type(resources, ResourceType.TABLE)
            if not (r.inputs.get("pointInTimeRecovery") or {}).get("enabled")]


def deletion_protection_on_event_tables_only(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """Event tables always carry DynamoDB deletion protection (DESIGN §6), whatever the tenant file
    says (its `deletion_protection` governs Pulumi `protect` and the bucket's `force_destroy` only);
    read models (rebuildable, blue/green slots that must be droppable) never do."""
    events = physical(tenant, "events")
    return [f"{r.name}: deletionProtectionEnabled != {want}" for r in of_type(resources, ResourceType.TABLE)
            for want in [r.inputs.get("name") == events]
            if r.inputs.get("deletionProtectionEnabled") is not want]


def buckets_private_and_tls_only(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    bad = []
    for b in of_type(resources, ResourceType.BUCKET):
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
    for r in of_type(resources, ResourceType.MAPPING):
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
    for r in of_type(resources, ResourceType.ROLE_POLICY):
        for s in _statements(r.inputs["policy"]):
            actions = _as_list(s["Action"])
            for res in _as_list(s["Resource"]):
                if res == "*":
                    # Only actions IAM defines on no resource type (X-Ray writes, ListStreams) may.
                    scoped = [a for a in actions if not wildcard_only(a)]
                    if scoped:
                        bad.append(f"{r.name}: '*' resource on actions with resource types {scoped}")
                elif not names_own(res):
                    bad.append(f"{r.name}: {res} is not a resource of tenant {tenant}")
    return bad


# -- KMS key policies ------------------------------------------------------------------------------
def _like(pattern: str, value: str) -> bool:
    """IAM's `*Like` operators: `*` any run of characters, `?` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": str.__eq__, "ArnEquals": str.__eq__, "StringLike": _like, "ArnLike": _like}


def condition_allows(condition: dict, context: dict[str, str]) -> bool:
    """Every operator and key of a Condition block holds for `context` (any listed value matches).
    An operator this evaluator does not know never holds (fails closed for the coverage rule)."""
    for operator, checks in condition.items():
        test = CONDITION_OPERATORS.get(operator)
        for key, values in checks.items():
            if test is None or key not in context or not any(test(v, context[key]) for v in _as_list(values)):
                return False
    return True


def _key_policies(resources: Sequence[DeclaredResource]) -> dict[str, list[dict]]:
    return {r.outputs["arn"]: _statements(r.inputs["policy"]) for r in of_type(resources, ResourceType.KEY)}


def _logs_may_use(statement: dict, region: str, context: dict[str, str]) -> bool:
    actions = _as_list(statement.get("Action", []))
    return (statement.get("Effect") == "Allow"
            and statement.get("Principal") == {"Service": f"logs.{region}.amazonaws.com"}
            and bool({"kms:GenerateDataKey*", "kms:*"} & set(actions))
            and bool({"kms:Decrypt", "kms:*"} & set(actions))
            and condition_allows(statement.get("Condition", {}), context))


def key_policy_allows_encrypted_log_groups(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """CloudWatch Logs can use the key of every log group declared with one (else creation fails)."""
    policies, bad = _key_policies(resources), []
    for group in of_type(resources, ResourceType.LOG_GROUP):
        key = group.inputs.get("kmsKeyId")
        if not key:
            continue
        arn = group.outputs["arn"]
        context = {LOG_ARN_CONTEXT: arn}
        if not any(_logs_may_use(s, arn.split(":")[3], context) for s in policies.get(key, [])):
            bad.append(f"{group.name}: key {key} does not let CloudWatch Logs encrypt {arn}")
    return bad


def other_tenant_log_group_arns(tenant: str, region: str, account: str) -> list[str]:
    """Log groups of tenants whose names extend or resemble this one's (the `<t>-*` trap)."""
    others = (f"{tenant}-corp", f"{tenant}x", f"x{tenant}", "other")
    return [log_group_arn(region, account, log_group(physical(o, kind))) for o in others for kind in HANDLERS]


def key_policies_name_only_this_tenant(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """No key-policy condition on a log group ARN also admits another tenant's log groups."""
    bad = []
    for key_arn, statements in _key_policies(resources).items():
        _, _, _, region, account, _ = key_arn.split(":", 5)
        for s in statements:
            condition = s.get("Condition", {})
            if not any(LOG_ARN_CONTEXT in checks for checks in condition.values()):
                continue
            leaks = [arn for arn in other_tenant_log_group_arns(tenant, region, account)
                     if condition_allows(condition, {LOG_ARN_CONTEXT: arn})]
            bad += [f"{s.get('Sid')}: admits {arn}" for arn in leaks]
    return bad


# -- roles vs encrypted data -----------------------------------------------------------------------
def _encrypted_by(resources: Sequence[DeclaredResource]) -> dict[str, str]:
    """ARN of each KMS-encrypted table, stream, queue and bucket -> the key that encrypts it."""
    keys = {}
    for r in resources:
        i = r.inputs
        key = {ResourceType.TABLE: (i.get("serverSideEncryption") or {}).get("kmsKeyArn"),
               ResourceType.STREAM: i.get("kmsKeyId"),
               ResourceType.QUEUE: i.get("kmsMasterKeyId")}.get(r.type)
        if key:
            keys[r.outputs["arn"]] = key
    bucket_arns = {r.outputs["id"]: r.outputs["arn"] for r in of_type(resources, ResourceType.BUCKET)}
    for r in of_type(resources, ResourceType.BUCKET_SSE):
        for rule in r.inputs["rules"]:
            key = rule["applyServerSideEncryptionByDefault"].get("kmsMasterKeyId")
            if key and r.inputs["bucket"] in bucket_arns:
                keys[bucket_arns[r.inputs["bucket"]]] = key
    return keys


def roles_can_decrypt_what_they_use(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """A role granted data actions on a KMS-encrypted resource also has kms:Decrypt on its key
    (else every call fails on AWS, though moto and the mocks would not notice)."""
    encrypted = sorted(_encrypted_by(resources).items(), key=lambda kv: len(kv[0]), reverse=True)
    statements: dict[str, list[dict]] = {}
    for r in of_type(resources, ResourceType.ROLE_POLICY):
        statements.setdefault(r.inputs["role"], []).extend(_statements(r.inputs["policy"]))
    bad = []
    for role, granted in statements.items():
        decryptable = {res for s in granted if {"kms:Decrypt", "kms:*"} & set(_as_list(s["Action"]))
                       for res in _as_list(s["Resource"])}
        for s in granted:
            if not [a for a in _as_list(s["Action"]) if a.split(":")[0] in DATA_SERVICES and not a.startswith("kms:")]:
                continue
            for res in _as_list(s["Resource"]):
                key = next((k for arn, k in encrypted if res == arn or res.startswith(arn + "/")), None)
                if key and key not in decryptable:
                    bad.append(f"{role}: uses {res} without kms:Decrypt on {key}")
    return bad


def archive_access_matches_environment(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """A function gets ARCHIVE_BUCKET exactly when its role may touch the bucket (least privilege)."""
    s3_roles = {r.inputs["role"] for r in of_type(resources, ResourceType.ROLE_POLICY)
                if any(a.startswith("s3:") for s in _statements(r.inputs["policy"]) for a in _as_list(s["Action"]))}
    bad = []
    for fn in of_type(resources, ResourceType.FUNCTION):
        has_env = settings.ARCHIVE_BUCKET in ((fn.inputs.get("environment") or {}).get("variables") or {})
        role = fn.inputs["role"].rsplit("/", 1)[-1]
        if has_env != (role in s3_roles):
            bad.append(f"{fn.name}: ARCHIVE_BUCKET set={has_env} but S3 granted={role in s3_roles}")
    return bad


RULES: tuple[Rule, ...] = (encryption_at_rest, tables_recoverable, deletion_protection_on_event_tables_only,
                           buckets_private_and_tls_only, tags_everywhere, stream_mappings_safe, iam_tenant_scoped,
                           key_policy_allows_encrypted_log_groups, key_policies_name_only_this_tenant,
                           roles_can_decrypt_what_they_use, archive_access_matches_environment, catalog_problems)


# -- observability: alarms and the dashboard read metrics that exist -------------------------------
def _emitted(tenant: str, resources: Sequence[DeclaredResource]) -> set[tuple]:
    """(namespace, metric, dimensions) of every series the tenant's platform writes: AWS's per
    declared function and queue, and the handlers' as the metrics contract declares them."""
    from lambdas.handlers import telemetry
    from lambdas.handlers.graphql_errors import rejection_types

    functions = [r.inputs["name"] for r in of_type(resources, ResourceType.FUNCTION)]
    queues = [r.inputs["name"] for r in of_type(resources, ResourceType.QUEUE)]
    series = {("AWS/Lambda", m, (("FunctionName", f),)) for f in functions for m in ("Errors", "Throttles", "IteratorAge")}
    series |= {("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", q),)) for q in queues}
    for metric in telemetry.ALL:
        series.add((telemetry.NAMESPACE, metric.name, tuple(sorted(metric.dimensions(tenant).items()))))
    series |= {(telemetry.NAMESPACE, telemetry.COMMANDS_REJECTED.name, tuple(sorted(
        {**telemetry.COMMANDS_REJECTED.dimensions(tenant), telemetry.ERROR_TYPE: t}.items()))) for t in rejection_types()}
    return series


def _dashboard_series(line: list) -> tuple:
    namespace, metric, *rest = [part for part in line if not isinstance(part, dict)]
    return namespace, metric, tuple(sorted(zip(rest[::2], rest[1::2])))


def watched_metrics_exist(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """Every alarm and every dashboard line reads a series this tenant's platform emits."""
    emitted, bad = _emitted(tenant, resources), []
    for alarm in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        i = alarm.inputs
        if (i["namespace"], i["metricName"], tuple(sorted((i.get("dimensions") or {}).items()))) not in emitted:
            bad.append(f"{alarm.name}: alarms on {i['namespace']}/{i['metricName']} {i.get('dimensions')}, never emitted")
    for board in of_type(resources, "aws:cloudwatch/dashboard:Dashboard"):
        for widget in json.loads(board.inputs["dashboardBody"])["widgets"]:
            for line in widget["properties"]["metrics"]:
                if _dashboard_series(line) not in emitted:
                    bad.append(f"{board.name}: widget {widget['properties']['title']!r} charts {line}, never emitted")
    return bad


RULES = (*RULES, watched_metrics_exist)
