"""Every IAM policy of every checked tenant against the IAM catalog (tests/infra/iam_catalog.py):
the checker itself, and that it catches the dead grants issue 10 found."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tenantry.inventory import ResourceType
from tests.infra.iam_catalog import actions_matching, arn_may_match, catalog_problems, declared_policies, wildcard_only

pytestmark = pytest.mark.infra

ARN = "arn:aws:{service}:eu-west-1:123456789012:{resource}"
LOG_STREAM = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
TABLE = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}"
INDEX = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}"
OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"


@pytest.mark.parametrize(("glob", "arn_format", "matches"), [
    # the documented `<group>:*` form covers the group's log streams; the bare group does not
    (ARN.format(service="logs", resource="log-group:/aws/lambda/f:*"), LOG_STREAM, True),
    (ARN.format(service="logs", resource="log-group:/aws/lambda/f"), LOG_STREAM, False),
    # a table name is one segment: a stream or index ARN is not a table
    (ARN.format(service="dynamodb", resource="table/t"), TABLE, True),
    (ARN.format(service="dynamodb", resource="table/t/stream/2024-01-01T00:00:00.000"), TABLE, False),
    (ARN.format(service="dynamodb", resource="table/t/index/*"), TABLE, False),
    (ARN.format(service="dynamodb", resource="table/t/index/*"), INDEX, True),
    # object keys are paths; a bucket is not an object
    ("arn:aws:s3:::b/archive/*", OBJECT, True),
    ("arn:aws:s3:::b", OBJECT, False),
    ("arn:aws:s3:::b", TABLE, False),
])
def test_a_resource_glob_matches_the_formats_it_can_name(glob, arn_format, matches):
    assert arn_may_match(glob, arn_format) is matches


def test_the_catalog_knows_actions_case_insensitively_and_expands_wildcards():
    assert actions_matching("DynamoDB:getitem") == ["dynamodb:GetItem"]
    assert actions_matching("dynamodb:TransactWriteItems") == []
    assert "kms:GenerateDataKeyWithoutPlaintext" in actions_matching("kms:GenerateDataKey*")
    assert wildcard_only("xray:PutTraceSegments") and wildcard_only("dynamodb:ListStreams")
    assert not wildcard_only("dynamodb:GetItem")


def test_every_policy_of_every_checked_tenant_is_classified_and_checked(checked_tenant):
    # GIVEN a tenant's declarations WHEN the policies are collected
    tenant, resources = checked_tenant
    policies, unknown = declared_policies(resources)
    # THEN every holder is known, and role, trust, key and bucket policies are all among them
    assert unknown == []
    assert {p.kind for p in policies} == {"identity", "trust", "key", "resource"}
    # ... and the catalog finds nothing (the same rule runs in test_policies.RULES)
    assert catalog_problems(tenant, resources) == []


def _with_statement(resources, holder_type, name_suffix, statement, field="policy"):
    target = next(r for r in resources if r.type == holder_type and r.name.endswith(name_suffix))
    doc = json.loads(target.inputs[field])
    doc["Statement"] = [*doc["Statement"], statement]
    tampered = dataclasses.replace(target, inputs={**target.inputs, field: json.dumps(doc)})
    return [tampered if r is target else r for r in resources]


def _arn(resources, typ, suffix, output="arn"):
    return next(r.outputs[output] for r in resources if r.type == typ and r.name.endswith(suffix))


def test_the_catalog_catches_the_dead_grants_issue_10_found(tenant, resources):
    # GIVEN the grants as they were: an invented action, a consumer action on the stream itself, and
    # a `*`-only action on the table's stream
    table = _arn(resources, ResourceType.TABLE, "-events-table")
    stream = _arn(resources, ResourceType.STREAM, "-stream")
    table_stream = next(r.outputs["streamArn"] for r in resources if r.outputs.get("streamArn"))
    statements = [
        {"Sid": "Invented", "Effect": "Allow", "Action": ["dynamodb:TransactWriteItems"], "Resource": [table]},
        {"Sid": "NoConsumer", "Effect": "Allow", "Action": ["kinesis:SubscribeToShard"], "Resource": [stream]},
        {"Sid": "StarOnly", "Effect": "Allow", "Action": ["dynamodb:ListStreams"], "Resource": [table_stream]},
        {"Sid": "Wide", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
    ]
    tampered = resources
    for s in statements:
        tampered = _with_statement(tampered, ResourceType.ROLE_POLICY, "-command-role-policy", s)
    # WHEN / THEN each is reported, by statement (its action, and the resource left unused)
    problems = catalog_problems(tenant, tampered)
    assert {p.split(": ", 1)[0].rsplit(" ", 1)[-1] for p in problems} == {"Invented", "NoConsumer", "StarOnly", "Wide"}
    assert any(p.endswith("dynamodb:TransactWriteItems is not an IAM action") for p in problems)


def test_the_catalog_checks_key_and_bucket_policies_too(tenant, resources):
    # GIVEN a key policy statement with an invented action and a bucket policy on an object action
    # naming the bucket itself
    bucket = _arn(resources, ResourceType.BUCKET, "-archive")
    tampered = _with_statement(resources, ResourceType.KEY, "-kms-key", {
        "Sid": "Invented", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Unlock", "Resource": "*"})
    tampered = _with_statement(tampered, "aws:s3/bucketPolicy:BucketPolicy", "-tls-only", {
        "Sid": "BucketIsNoObject", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": bucket})
    # WHEN the catalog runs
    problems = catalog_problems(tenant, tampered)
    # THEN both are reported (each action, and the resource it left unused), and a key policy's
    # `Resource: *` is read as the key itself
    key = _arn(resources, ResourceType.KEY, "-kms-key")
    assert sorted(problems) == sorted([
        f"{tenant}-kms-key statement Invented: kms:Unlock is not an IAM action",
        f"{tenant}-kms-key statement Invented: {key} is a resource none of ['kms:Unlock'] applies to",
        f"{tenant}-archive-tls-only statement BucketIsNoObject: s3:GetObject applies to none of [{bucket!r}] "
        "(its resource types: ['arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}/object/${ObjectName}', "
        "'arn:${Partition}:s3:::${BucketName}/${ObjectName}'])",
        f"{tenant}-archive-tls-only statement BucketIsNoObject: {bucket} is a resource none of ['s3:GetObject'] applies to",
    ])


def test_a_policy_in_an_unclassified_place_fails_the_check(tenant, resources):
    # GIVEN a topic carrying an inline policy (a place the checker has not been told about)
    [topic] = [r for r in resources if r.type == "aws:sns/topic:Topic"]
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]})
    tampered = [dataclasses.replace(topic, inputs={**topic.inputs, "policy": doc}) if r is topic else r for r in resources]
    # WHEN / THEN it is named, not skipped
    assert catalog_problems(tenant, tampered) == [f"{topic.name}: aws:sns/topic:Topic.policy holds a policy this check does not classify"]
