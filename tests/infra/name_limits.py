"""Every physical name a tenant declares, against the limit AWS sets for its kind.

`name_limits(tenant, resources) -> list[str]` is a policy rule like those of `policy_rules`. A
declared `aws:` resource with a physical name whose type is not listed here is itself a violation,
so a new kind of resource cannot skip the check. Limits: botocore's service models where they say
(IAM, Kinesis, CloudWatch, KMS, Logs, Scheduler), else the service's documented quota (Lambda
function names 64 — the model's 140 counts a full ARN —, SQS 80, DynamoDB 255 — the model's 1024
admits ARNs —, S3 3..63, SNS 256, AppSync data sources 65,536).
"""

from __future__ import annotations

from collections.abc import Sequence

from tenantry.inventory import DeclaredResource, ResourceType

# type -> (input or output holding the physical name, longest allowed length)
LIMITS: dict[str, tuple[str, int]] = {
    ResourceType.FUNCTION: ("name", 64),
    "aws:iam/role:Role": ("name", 64),
    ResourceType.ROLE_POLICY: ("name", 128),
    ResourceType.QUEUE: ("name", 80),
    ResourceType.STREAM: ("name", 128),
    ResourceType.TABLE: ("name", 255),
    ResourceType.BUCKET: ("bucket", 63),
    "aws:sns/topic:Topic": ("name", 256),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", 255),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName", 255),
    "aws:kms/alias:Alias": ("name", 256),
    ResourceType.LOG_GROUP: ("name", 512),
    "aws:scheduler/schedule:Schedule": ("name", 64),
    # botocore's cognito-idp model: UserPoolNameType, ClientNameType, GroupNameType
    "aws:cognito/userPool:UserPool": ("name", 128),
    "aws:cognito/userPoolClient:UserPoolClient": ("name", 128),
    "aws:cognito/userGroup:UserGroup": ("name", 128),
    ResourceType.DATA_SOURCE: ("name", 65_536),
    # No length in the AppSync model or API reference for a GraphQL API's name: checked non-empty.
    ResourceType.GRAPHQL_API: ("name", 65_536),
}
# Resources whose `name` input is not a physical AWS name (a key description, ...).
UNNAMED = frozenset({"aws:appsync/apiKey:ApiKey"})
MIN_LENGTH = {ResourceType.BUCKET: 3, ResourceType.TABLE: 3}


def physical_names(resources: Sequence[DeclaredResource]) -> list[tuple[DeclaredResource, str | None]]:
    """(resource, name) for every custom `aws:` resource that has a physical name."""
    found = []
    for r in resources:
        if not r.type.startswith("aws:") or r.type in UNNAMED:
            continue
        field = LIMITS.get(r.type, ("name", 0))[0]
        name = r.inputs.get(field) or r.outputs.get(field)
        if name or r.type in LIMITS:
            found.append((r, name))
    return found


def name_limits(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    bad = []
    for r, name in physical_names(resources):
        if r.type not in LIMITS:
            bad.append(f"{r.type} {r.name}: physical name {name!r} has no known limit (add it to LIMITS)")
            continue
        longest = LIMITS[r.type][1]
        if not name or not MIN_LENGTH.get(r.type, 1) <= len(name) <= longest:
            bad.append(f"{r.type} {r.name}: {name!r} is {len(name or '')} characters (allowed: "
                       f"{MIN_LENGTH.get(r.type, 1)}..{longest})")
    return bad
