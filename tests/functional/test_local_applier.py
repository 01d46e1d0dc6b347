"""The applier creates what a tenant declares in the emulator and registers its functions."""

from __future__ import annotations

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.eventstore import keys
from tenantry.inventory import DeclaredResource
from tenantry.local.applier import apply
from tenantry.local.errors import FilterPatternError, UnresolvedReferenceError, UnsupportedResourceError
from tests.functional.local_support import declared as d
from tests.functional.local_support.fixtures import declared_example, emulator  # noqa: F401

pytestmark = pytest.mark.functional


def _tenant_resources(tenant: str = "acme") -> list[DeclaredResource]:
    events, stream, dlq = d.events_table(tenant), d.stream(tenant), d.queue(tenant)
    publisher = d.function(tenant, "publisher", d.CONSUMER)
    projector = d.function(tenant, "projector", d.CONSUMER)
    return [
        events, d.accounts_table(tenant), stream, dlq, d.bucket(tenant), publisher, projector,
        d.mapping(events, publisher, dlq, source_output="streamArn",
                  patterns=({"dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}},)),
        d.mapping(stream, projector, dlq, bisectBatchOnFunctionError=True),
        *d.control_plane(tenant),
    ]


def test_creates_declared_tables_streams_buckets_and_queues(emulator):
    # GIVEN a tenant's declared resources
    # WHEN they are applied
    tenant = apply(_tenant_resources(), emulator)

    # THEN the event table has its keys and a stream, and the read model its GSI
    ddb = emulator.client("dynamodb")
    events = ddb.describe_table(TableName="acme-events")["Table"]
    assert [k["AttributeName"] for k in events["KeySchema"]] == [keys.PARTITION_KEY, keys.SORT_KEY]
    assert events["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert tenant.tables["acme-events"].stream_arn == events["LatestStreamArn"]
    accounts = ddb.describe_table(TableName="acme-accounts")["Table"]
    (gsi,) = accounts["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == rk.ACCOUNTS_BY_OWNER_INDEX
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == [rk.ACCOUNTS_BY_OWNER_PARTITION_KEY,
                                                             rk.ACCOUNTS_BY_OWNER_SORT_KEY]
    # AND the stream has its shards, the bucket and the queue exist
    shards = emulator.client("kinesis").list_shards(StreamName="acme-events")["Shards"]
    assert len(shards) == 2
    emulator.client("s3").head_bucket(Bucket="acme-archive")
    assert emulator.client("sqs").get_queue_url(QueueName="acme-dlq")["QueueUrl"] == tenant.queues["acme-dlq"].url
    # AND the control plane is recorded, not created
    assert {r.type for r in tenant.recorded} >= {"aws:iam/role:Role", "aws:kms/key:Key",
                                                 "aws:appsync/graphQLApi:GraphQLApi"}


def test_registers_functions_and_resolves_mapping_references_to_emulator_arns(emulator):
    # GIVEN declared mappings referring to mock ARNs
    resources = _tenant_resources()

    # WHEN applied
    tenant = apply(resources, emulator)

    # THEN functions carry their handler and variables, and the tenant id comes from them
    assert tenant.tenant == "acme"
    assert tenant.functions["acme-publisher"].handler == d.CONSUMER
    assert tenant.functions["acme-publisher"].environment["EVENTS_TABLE"] == "acme-events"
    # AND mappings point at what exists in the emulator, with their settings as declared
    from_table, from_stream = tenant.mappings
    assert from_table.source_kind == "dynamodb"
    assert from_table.source_arn == tenant.tables["acme-events"].stream_arn
    assert from_table.source_arn != resources[0].outputs["streamArn"]
    assert from_table.filter_patterns == ({"dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}},)
    assert from_stream.source_kind == "kinesis"
    assert from_stream.source_arn == tenant.streams["acme-events"].arn
    assert from_stream.function_name == "acme-projector"
    assert (from_stream.bisect_on_error, from_stream.max_retry_attempts, from_stream.report_batch_item_failures) \
        == (True, 2, True)
    assert from_stream.on_failure_queue_url == tenant.queues["acme-dlq"].url


def test_a_data_resource_it_cannot_emulate_fails_loudly(emulator):
    # GIVEN a declared resource that holds data but is not emulated
    unknown = DeclaredResource(type="aws:rds/instance:Instance", name="acme-db", inputs={})

    # WHEN applied THEN it is refused, naming the resource
    with pytest.raises(UnsupportedResourceError) as raised:
        apply([unknown], emulator)
    assert (raised.value.resource_type, raised.value.name) == ("aws:rds/instance:Instance", "acme-db")


def test_a_mapping_to_an_undeclared_source_fails(emulator):
    # GIVEN a mapping whose source stream is not declared by this tenant
    other = d.stream("globex")
    target = d.function("acme", "projector", d.CONSUMER)

    # WHEN applied THEN the dangling reference is reported
    with pytest.raises(UnresolvedReferenceError) as raised:
        apply([target, d.mapping(other, target)], emulator)
    assert raised.value.field == "eventSourceArn"


def test_unsupported_filter_syntax_fails_when_applied(emulator):
    # GIVEN a filter using a matcher the local platform does not implement
    stream, target = d.stream("acme"), d.function("acme", "projector", d.CONSUMER)
    bad = d.mapping(stream, target, patterns=({"data": {"ip": [{"cidr": "10.0.0.0/24"}]}},))

    # WHEN applied THEN it fails before anything runs
    with pytest.raises(FilterPatternError):
        apply([stream, target, bad], emulator)


def test_creates_the_declared_user_pool_client_and_group_and_seeds_dev_users(emulator):
    # GIVEN acme as the Pulumi program declares it (mock runtime)
    from tenantry.config import load_tenant_by_name
    from tenantry.local import devusers
    from tests.e2e.support import ROOT
    from tests.functional.local_support.tokens import claims_of

    config = load_tenant_by_name(ROOT, "acme")
    local = apply(list(declared_example("acme")[1]), emulator, tenant="acme", region=config.region)
    # THEN its pool exists in the emulator with the declared client and the admins group
    [pool] = local.user_pools.values()
    idp = emulator.client("cognito-idp", config.region)
    described = idp.describe_user_pool(UserPoolId=pool.id)["UserPool"]
    assert described["Name"] == "tenantry-acme-users"
    assert described["UsernameAttributes"] == ["email"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool.groups == ("admins",) and len(pool.clients) == 1
    # AND dev users sign in, ops with the admins group in the token
    users = devusers.seed(idp, "acme", pool, [(u.name, tuple(u.groups)) for u in config.dev.users])
    ops = next(u for u in users if u.name == "ops")
    tokens = devusers.sign_in(idp, pool.id, next(iter(pool.clients.values())), ops.username, ops.password)
    claims = claims_of(tokens["IdToken"])
    assert (claims["sub"], claims["cognito:groups"], claims["iss"]) == (ops.sub, ["admins"], pool.issuer)
