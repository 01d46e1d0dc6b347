"""Policy rules over every resource of every example tenant, and tenant isolation by name."""

from __future__ import annotations

import pytest

from tests.infra.policy_rules import RULES, deletion_protection_follows_config

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_policy_rule_holds_for_every_resource(rule, tenant, resources):
    # GIVEN everything an example tenant declares WHEN the rule runs THEN it finds nothing
    assert rule(tenant, resources) == []


def test_deletion_protection_follows_the_tenant_file(tenant, resources, configs):
    rule = deletion_protection_follows_config(configs[tenant].deletion_protection)
    assert rule(tenant, resources) == []


def test_example_tenants_differ_in_deletion_protection(configs):
    # The examples exercise both settings, so the rule above is checked both ways.
    assert {c.deletion_protection for c in configs.values()} == {True, False}


# Names that only need to be unique inside their parent (a role, an API): their ARNs still are compared.
PARENT_SCOPED_NAMES = ("aws:iam/rolePolicy:RolePolicy", "aws:appsync/dataSource:DataSource")


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


def test_policy_rules_catch_a_violation(resources, tenant):
    # GIVEN a tampered copy of a role policy granting a wildcard on DynamoDB
    import dataclasses
    import json

    from tests.infra.policy_rules import iam_tenant_scoped

    policy = next(r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy")
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::someone-else/*"}]}
    tampered = dataclasses.replace(policy, inputs={**policy.inputs, "policy": json.dumps(doc)})
    # WHEN the IAM rule runs THEN both statements are reported
    assert len(iam_tenant_scoped(tenant, [*resources, tampered])) == 2
