"""Policy rules over every resource of every example tenant, and tenant isolation by name."""

from __future__ import annotations

import pytest

import dataclasses
import json

import pulumi

from tenantry.components.naming import APPSYNC_LOG_GROUP_PREFIX, log_group, physical
from tenantry.inventory import ResourceType
from tenantry.mocks import Harness
from tenantry.program import define_stack
from tests.infra.conftest import ROOT
from tests.infra.policy_rules import (RULES, archive_access_matches_environment, deletion_protection_on_event_tables_only,
                                      encryption_at_rest, iam_tenant_scoped, key_policies_name_only_this_tenant,
                                      key_policy_allows_encrypted_log_groups, roles_can_decrypt_what_they_use)

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_policy_rule_holds_for_every_resource(rule, checked_tenant):
    # GIVEN everything an example tenant (or the edge tenant) declares WHEN the rule runs THEN it finds nothing
    tenant, resources = checked_tenant
    assert rule(tenant, resources) == []


def test_example_tenants_differ_in_deletion_protection(configs):
    # The examples exercise both settings, so the rules below are checked both ways.
    assert {c.deletion_protection for c in configs.values()} == {True, False}


@pytest.fixture(scope="module")
def protected(configs) -> dict[str, set[tuple[str, str]]]:
    """Per example tenant, the (type, name) of every resource declared with Pulumi `protect`
    (a resource option, so not in the inputs: observed by a stack transformation)."""
    result = {}
    for name, config in configs.items():
        seen: set[tuple[str, str]] = set()

        def observe(args: pulumi.ResourceTransformationArgs, seen=seen) -> None:
            if args.opts and args.opts.protect:
                seen.add((args.type_, args.name))

        def program(config=config, observe=observe):
            pulumi.runtime.register_stack_transformation(observe)
            return define_stack(config, ROOT)

        Harness(stack=name, region=config.region).run(program)
        result[name] = seen
    return result


def test_tenant_flag_governs_pulumi_protect_and_force_destroy_only(tenant, resources, configs, protected):
    # GIVEN a tenant file's deletion_protection (true for acme, false for globex)
    flag = configs[tenant].deletion_protection
    # WHEN reading what it declares
    [bucket] = [r for r in resources if r.type == ResourceType.BUCKET]
    [events] = [r for r in resources if r.type == ResourceType.TABLE and r.inputs["name"] == physical(tenant, "events")]
    # THEN the event table is Pulumi-protected and the bucket kept iff the flag is set ...
    assert protected[tenant] == ({(ResourceType.TABLE, events.name)} if flag else set())
    assert bucket.inputs["forceDestroy"] is (not flag)
    # ... and DynamoDB deletion protection is on either way (DESIGN §6)
    assert events.inputs["deletionProtectionEnabled"] is True


# Names that only need to be unique inside their parent (a role, an API): their ARNs still are compared.
PARENT_SCOPED_NAMES = ("aws:iam/rolePolicy:RolePolicy", "aws:appsync/dataSource:DataSource",
                      "aws:cognito/userGroup:UserGroup")


def test_two_tenants_never_share_a_physical_name_or_arn(evaluated):
    # GIVEN every example tenant's declarations
    seen: dict[str, str] = {}
    clashes = []
    for tenant, harness in evaluated.items():
        for r in harness.declared():
            if not r.type.startswith("aws:"):
                continue
            names = {r.outputs.get("arn"), r.urn}
            if r.type not in PARENT_SCOPED_NAMES:
                names |= {r.inputs.get("name"), r.inputs.get("bucket")}
            for name in filter(None, names):
                if name in seen and seen[name] != tenant:
                    clashes.append((name, seen[name], tenant))
                seen.setdefault(name, tenant)
    # THEN no name is used by two tenants
    assert clashes == []


def replaced(resources, target, **inputs):
    """A copy of the declarations with one resource's inputs changed (a tampered declaration)."""
    return [dataclasses.replace(r, inputs={**r.inputs, **inputs}) if r is target else r for r in resources]


def test_policy_rules_catch_a_violation(resources, tenant):
    # GIVEN a tampered copy of a role policy granting a wildcard on DynamoDB
    policy = next(r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy")
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::someone-else/*"}]}
    tampered = dataclasses.replace(policy, inputs={**policy.inputs, "policy": json.dumps(doc)})
    # WHEN the IAM rule runs THEN both statements are reported
    assert len(iam_tenant_scoped(tenant, [*resources, tampered])) == 2


def test_deletion_protection_rule_catches_an_unprotected_event_table(tenant, resources):
    # GIVEN the event table declared without DynamoDB deletion protection (as `false` used to do)
    [events] = [r for r in resources if r.type == ResourceType.TABLE and r.inputs["name"] == physical(tenant, "events")]
    # WHEN / THEN
    assert deletion_protection_on_event_tables_only(
        tenant, replaced(resources, events, deletionProtectionEnabled=False)) == [f"{events.name}: deletionProtectionEnabled != True"]


def test_no_log_group_may_skip_the_tenant_key(tenant, resources):
    # GIVEN the AppSync log group and a function's log group, both without the tenant key
    groups = [r for r in resources if r.type == ResourceType.LOG_GROUP]
    [appsync] = [g for g in groups if g.inputs["name"].startswith(APPSYNC_LOG_GROUP_PREFIX)]
    [command] = [g for g in groups if g.inputs["name"] == log_group(physical(tenant, "command"))]
    stripped = {g.name: dataclasses.replace(g, inputs={k: v for k, v in g.inputs.items() if k != "kmsKeyId"})
                for g in (appsync, command)}
    tampered = [stripped.get(r.name, r) if r.type == ResourceType.LOG_GROUP else r for r in resources]
    # WHEN the encryption rule runs THEN both are reported
    assert sorted(encryption_at_rest(tenant, tampered)) == sorted(f"{n}: log group without KMS" for n in stripped)


def test_the_key_lets_cloudwatch_logs_encrypt_appsync_log_groups_of_this_account_and_region(tenant, resources):
    # GIVEN the key policy statement for log groups the key cannot name (AppSync picks the id)
    [key] = [r for r in resources if r.type == ResourceType.KEY]
    [logs] = [s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] == "ServiceNamedLogGroups"]
    _, _, _, region, account, _ = key.outputs["arn"].split(":", 5)
    # THEN it admits /aws/appsync/apis/* of the tenant's account and region only
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
        f"arn:aws:logs:{region}:{account}:log-group:{APPSYNC_LOG_GROUP_PREFIX}*"]}}
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}


def test_every_function_encrypts_its_environment_with_the_tenant_key(tenant, resources):
    [key] = [r for r in resources if r.type == ResourceType.KEY]
    assert {r.inputs["name"]: r.inputs["kmsKeyArn"] for r in resources if r.type == ResourceType.FUNCTION} == {
        physical(tenant, kind): key.outputs["arn"] for kind in ("command", "publisher", "projector", "archiver")}


def _with_key_policy(resources, key, statements):
    return replaced(resources, key, policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def test_key_policy_lists_the_exact_log_groups_of_the_tenants_functions(tenant, resources):
    # GIVEN the key policy's CloudWatch Logs statement
    [key] = [r for r in resources if r.type == ResourceType.KEY]
    [logs] = [s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] == "TenantLogGroups"]
    # THEN it names each encrypted log group's ARN exactly, no pattern
    functions = sorted(r.outputs["arn"] for r in resources if r.type == ResourceType.LOG_GROUP
                       and r.inputs.get("name", "").startswith("/aws/lambda/"))
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": functions}}
    assert len(functions) == len([r for r in resources if r.type == ResourceType.FUNCTION])


def test_key_policy_rules_catch_the_tenant_prefix_pattern(tenant, resources):
    # GIVEN the key policy as it was: a `tenantry-<t>-*` pattern, which also matches tenant `<t>-corp`
    [key] = [r for r in resources if r.type == ResourceType.KEY]
    statements = json.loads(key.inputs["policy"])["Statement"]
    [logs] = [s for s in statements if s["Sid"] == "TenantLogGroups"]
    prefix = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"][0].rsplit("/", 1)[0]
    wide = {**logs, "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"{prefix}/tenantry-{tenant}-*"}}}
    tampered = _with_key_policy(resources, key, [wide if s is logs else s for s in statements])
    # WHEN the isolation rule runs THEN it reports the other tenant's log groups the pattern admits
    leaks = key_policies_name_only_this_tenant(tenant, tampered)
    assert f"TenantLogGroups: admits {prefix}/tenantry-{tenant}-corp-command" in leaks
    # ... while the coverage rule still holds (the pattern did cover this tenant's groups)
    assert key_policy_allows_encrypted_log_groups(tenant, tampered) == []


def test_key_policy_rules_catch_an_uncovered_log_group(tenant, resources):
    # GIVEN a key policy whose CloudWatch Logs statement misses the projector's log group
    [key] = [r for r in resources if r.type == ResourceType.KEY]
    statements = json.loads(key.inputs["policy"])["Statement"]
    [logs] = [s for s in statements if s["Sid"] == "TenantLogGroups"]
    arns = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    kept = [a for a in arns if not a.endswith(f"/tenantry-{tenant}-projector")]
    narrow = {**logs, "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": kept}}}
    tampered = _with_key_policy(resources, key, [narrow if s is logs else s for s in statements])
    # WHEN / THEN the coverage rule names the projector's log group
    [problem] = key_policy_allows_encrypted_log_groups(tenant, tampered)
    assert problem.startswith(f"{tenant}-projector-logs: ")


def test_decrypt_rule_catches_a_data_source_role_without_the_key(tenant, resources):
    # GIVEN the accounts data source's role policy without its KMS statement
    [policy] = [r for r in resources if r.type == ResourceType.ROLE_POLICY and r.name == f"{tenant}-api-ds-accounts"]
    doc = json.loads(policy.inputs["policy"])
    doc["Statement"] = [s for s in doc["Statement"] if not any(a.startswith("kms:") for a in s["Action"])]
    # WHEN / THEN the rule reports the table it can no longer read
    problems = roles_can_decrypt_what_they_use(tenant, replaced(resources, policy, policy=json.dumps(doc)))
    assert problems and all(p.startswith(f"{physical(tenant, 'appsync-accounts')}: uses ") for p in problems)


def test_archive_rule_catches_an_unneeded_bucket_variable(tenant, resources):
    # GIVEN the projector given ARCHIVE_BUCKET again (its role has no S3 access)
    from lambdas.handlers import settings

    [projector] = [r for r in resources if r.type == ResourceType.FUNCTION and r.inputs["name"] == physical(tenant, "projector")]
    variables = {**projector.inputs["environment"]["variables"], settings.ARCHIVE_BUCKET: "b"}
    tampered = replaced(resources, projector, environment={"variables": variables})
    # WHEN / THEN
    assert archive_access_matches_environment(tenant, tampered) == [
        f"{projector.name}: ARCHIVE_BUCKET set=True but S3 granted=False"]
