"""Per-component assertions on what each example tenant declares, fed from the shared key constants."""

from __future__ import annotations

import json
import re

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.eventstore import keys
from lambdas.handlers import settings
from tenantry.components import naming
from tenantry.components.functions import powertools_layer_arn
from tenantry.components.naming import HANDLERS, archive_bucket_prefix, physical

pytestmark = pytest.mark.infra


def one(resources, typ, name):
    matches = [r for r in resources if r.type == typ and r.name == name]
    assert len(matches) == 1, f"{typ} {name}: {len(matches)} found"
    return matches[0]


def by_urn(resources):
    return {r.urn: r for r in resources}


def test_every_child_is_parented_under_the_tenant_platform(tenant, resources):
    # GIVEN the declarations WHEN walking parents THEN every AWS resource descends from TenantPlatform
    urns = by_urn(resources)
    platform = one(resources, "tenantry:platform:TenantPlatform", tenant)
    for r in resources:
        if r.type.startswith("pulumi:providers:") or r is platform:
            continue
        node = r
        while node.parent in urns and node.urn != platform.urn:
            node = urns[node.parent]
        assert node.urn == platform.urn, r.name


def test_component_type_tokens_follow_the_convention(resources):
    components = [r for r in resources if not r.type.startswith(("aws:", "pulumi:"))]
    assert components and all(r.type.startswith("tenantry:") and r.type.count(":") == 2 for r in components)


def test_event_table_uses_the_event_store_key_contract(tenant, resources, configs):
    table = one(resources, "aws:dynamodb/table:Table", f"{tenant}-events-table").inputs
    assert (table["hashKey"], table["rangeKey"]) == (keys.PARTITION_KEY, keys.SORT_KEY)
    assert {(a["name"], a["type"]) for a in table["attributes"]} == {
        (keys.PARTITION_KEY, keys.PARTITION_KEY_TYPE), (keys.SORT_KEY, keys.SORT_KEY_TYPE)}
    assert table["streamEnabled"] is True and table["streamViewType"] in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["deletionProtectionEnabled"] is True     # whatever the tenant file says (DESIGN §6)
    key_arn = one(resources, "aws:kms/key:Key", f"{tenant}-kms-key").outputs["arn"]
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn}


def test_read_model_tables_use_the_read_model_key_contract(tenant, resources, configs):
    slot = configs[tenant].read_models.active
    accounts = one(resources, "aws:dynamodb/table:Table", f"{tenant}-read-models-accounts-{slot}").inputs
    ledger = one(resources, "aws:dynamodb/table:Table", f"{tenant}-read-models-ledger-{slot}").inputs
    assert accounts["name"] == naming.read_model_table(tenant, "accounts", slot)
    assert ledger["name"] == naming.read_model_table(tenant, "ledger", slot)
    assert accounts["hashKey"] == rk.ACCOUNTS_PARTITION_KEY
    [gsi] = accounts["globalSecondaryIndexes"]
    assert gsi["name"] == rk.ACCOUNTS_BY_OWNER_INDEX and gsi["projectionType"] == "ALL"
    assert [(k["attributeName"], k["keyType"]) for k in gsi["keySchemas"]] == [
        (rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, "HASH"), (rk.ACCOUNTS_BY_OWNER_SORT_KEY, "RANGE")]
    assert (ledger["hashKey"], ledger["rangeKey"]) == (rk.LEDGER_PARTITION_KEY, rk.LEDGER_SORT_KEY)
    assert {(a["name"], a["type"]) for a in ledger["attributes"]} == {
        (rk.LEDGER_PARTITION_KEY, "S"), (rk.LEDGER_SORT_KEY, "N")}


def test_stream_mode_and_shards_come_from_the_tenant_file(tenant, resources, configs):
    cfg = configs[tenant]
    stream = one(resources, "aws:kinesis/stream:Stream", f"{tenant}-stream-stream").inputs
    assert stream["streamModeDetails"]["streamMode"] == cfg.stream_mode.value
    assert stream.get("shardCount") == cfg.shard_count
    assert stream["retentionPeriod"] == cfg.stream_retention_hours


def test_archive_bucket_is_versioned_with_a_lifecycle_from_config(tenant, resources, configs):
    cfg = configs[tenant]
    bucket = one(resources, "aws:s3/bucket:Bucket", archive_bucket_prefix(tenant)).outputs["id"]
    versioning = one(resources, "aws:s3/bucketVersioning:BucketVersioning", f"{tenant}-archive-versioning").inputs
    assert versioning == {"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}}
    rules = {r["id"]: r for r in one(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                                      f"{tenant}-archive-lifecycle").inputs["rules"]}
    archive = rules["archive-expiry"]
    assert archive["filter"]["prefix"] == keys.ARCHIVE_PREFIX
    assert archive["expiration"]["days"] == cfg.archive_retention_days
    # No storage-class transition anywhere: S3 would skip the archive's objects (all under 128 KB)
    assert all(not r.get("transitions") and not r.get("noncurrentVersionTransitions") for r in rules.values())


def test_the_archive_bucket_is_autonamed_and_everything_reads_its_declared_name(tenant, resources, harness):
    # GIVEN the archive bucket, declared without a name (Pulumi picks `<prefix>-<random>` once)
    declared = one(resources, "aws:s3/bucket:Bucket", archive_bucket_prefix(tenant))
    assert "bucket" not in declared.inputs and "bucketPrefix" not in declared.inputs
    name = declared.outputs["bucket"]
    assert re.fullmatch(rf"{archive_bucket_prefix(tenant)}-[0-9a-f]{{7}}", name)
    # THEN the functions that use it and the stack output carry that name, not a recomputed one
    variables = {r.inputs["name"]: r.inputs["environment"]["variables"] for r in resources
                 if r.type == "aws:lambda/function:Function"}
    assert {fn: v[settings.ARCHIVE_BUCKET] for fn, v in variables.items() if settings.ARCHIVE_BUCKET in v} == {
        physical(tenant, "command"): name, physical(tenant, "archiver"): name}
    assert harness.stack_outputs["bucket_name"] == name


def test_functions_run_the_handlers_with_the_settings_contract(tenant, resources, configs):
    layer = powertools_layer_arn(configs[tenant].region)
    for key, handler in HANDLERS.items():
        fn = one(resources, "aws:lambda/function:Function", f"{tenant}-{key}-function").inputs
        assert fn["handler"] == handler and fn["runtime"] in ("python3.11", "python3.12")
        assert fn["layers"] == [layer] and fn["sourceCodeHash"]
        variables = fn["environment"]["variables"]
        assert set(variables) <= set(settings.ALL)
        assert variables[settings.TENANT_ID] == tenant
        assert variables[settings.EVENTS_TABLE] == naming.physical(tenant, "events")
        assert variables[settings.SNAPSHOT_INTERVAL] == str(configs[tenant].snapshot_interval)


def test_projector_never_touches_the_bucket(tenant, resources):
    # GIVEN the projector: gap fill reads forward from the event table, never a snapshot
    projector = one(resources, "aws:lambda/function:Function", f"{tenant}-projector-function").inputs
    role = projector["role"].rsplit("/", 1)[-1]
    actions = {a for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy" and r.inputs["role"] == role
               for s in json.loads(r.inputs["policy"])["Statement"] for a in s["Action"]}
    # THEN it has no S3 permission and no bucket variable
    assert actions and not {a for a in actions if a.startswith("s3:")}
    assert settings.ARCHIVE_BUCKET not in projector["environment"]["variables"]


def test_projector_publishes_to_this_tenants_api(tenant, resources):
    api = one(resources, "aws:appsync/graphQLApi:GraphQLApi", f"{tenant}-api").outputs
    projector = one(resources, "aws:lambda/function:Function", f"{tenant}-projector-function").inputs
    assert projector["environment"]["variables"][settings.GRAPHQL_URL] == api["uris"]["GRAPHQL"]


def test_publisher_sees_event_inserts_only(tenant, resources):
    mapping = one(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", f"{tenant}-publisher-source-mapping")
    table = one(resources, "aws:dynamodb/table:Table", f"{tenant}-events-table").outputs
    assert mapping.inputs["eventSourceArn"] == table["streamArn"]
    [pattern] = [json.loads(f["pattern"]) for f in mapping.inputs["filterCriteria"]["filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}}


def test_projector_mapping_settings_come_from_the_tenant_file(tenant, resources, configs):
    cfg = configs[tenant]
    mapping = one(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", f"{tenant}-projector-source-mapping")
    stream = one(resources, "aws:kinesis/stream:Stream", f"{tenant}-stream-stream").outputs
    dlq = one(resources, "aws:sqs/queue:Queue", f"{tenant}-projector-dlq-queue").outputs
    assert mapping.inputs["eventSourceArn"] == stream["arn"]
    assert mapping.inputs["batchSize"] == cfg.projector_batch_size
    assert mapping.inputs["parallelizationFactor"] == cfg.projector_parallelization_factor
    assert mapping.inputs["destinationConfig"]["onFailure"]["destinationArn"] == dlq["arn"]


def test_alarms_cover_iterator_age_dlq_errors_and_throttles(tenant, resources, configs):
    alarms = {r.inputs["metricName"] for r in resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"}
    assert {"IteratorAge", "ApproximateNumberOfMessagesVisible", "Errors", "Throttles"} <= alarms
    emails = [r for r in resources if r.type == "aws:sns/topicSubscription:TopicSubscription"]
    assert [e.inputs["endpoint"] for e in emails] == ([configs[tenant].alarm_email] if configs[tenant].alarm_email else [])


def test_stack_outputs(tenant, harness):
    outputs = harness.stack_outputs
    assert set(outputs) == {"graphql_url", "realtime_url", "events_table", "accounts_table",
                            "ledger_table", "stream_name", "bucket_name", "failure_queue_urls",
                            "user_pool_id", "user_pool_client_id", "issuer"}
    assert outputs["graphql_url"].startswith("https://") and outputs["realtime_url"].startswith("wss://")
    assert outputs["events_table"] == naming.physical(tenant, "events")
    assert set(outputs["failure_queue_urls"]) == {"publisher", "projector", "archiver"}
