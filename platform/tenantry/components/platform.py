"""`TenantPlatform`: everything one tenant runs on, assembled from the child components."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from lambdas.eventstore import keys
from lambdas.handlers import settings as env

from ..config import TenantConfig
from . import naming
from .alarms import Alarms, AlarmsArgs, WatchedFunction
from .api import Api, ApiArgs, ApiAuth
from .identity import UserDirectory, UserDirectoryArgs
from .bucket import ArchiveBucket, ArchiveBucketArgs
from .dashboard import Dashboard, DashboardArgs
from .event_store import EventStore, EventStoreArgs
from .functions import TenantFunction, TenantFunctionArgs, powertools_layer_arn
from .iam import FunctionRole, FunctionRoleArgs, Grant
from .keys import TenantKey, TenantKeyArgs, log_group_arn
from .mappings import StreamMapping, StreamMappingArgs, event_insert_filter
from .key_renewal import RENEWAL_ACTIONS, KeyRenewalSchedule, KeyRenewalScheduleArgs
from .naming import CONSUMERS, HANDLERS, KEY_RENEWAL, KEY_RENEWAL_HANDLER
from .packaging import LambdaPackage
from .queues import FailureQueue, FailureQueueArgs
from .read_models import ReadModels, ReadModelsArgs
from .stream import EventStream, EventStreamArgs
from .tags import tenant_tags


TABLE_READ = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem")
DDB_STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
# The Lambda guide lists ListStreams among what a DynamoDB Streams event source mapping needs; IAM
# defines it on no resource type, so it can only be granted on "*" (it returns stream ARNs, no data).
DDB_STREAM_LIST = ("dynamodb:ListStreams",)
# No kinesis:SubscribeToShard: that is enhanced fan-out, granted on a stream *consumer* ARN, and the
# mappings poll the stream itself (no consumer is declared).
KINESIS_READ = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards")
KINESIS_WRITE = ("kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary")
KMS_USE = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
LOGS_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True)
class TenantPlatformArgs:
    config: TenantConfig
    account_id: pulumi.Input[str]
    package: LambdaPackage


class TenantPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:platform:TenantPlatform", name, None, opts)
        cfg, t = args.config, args.config.name
        tags = tenant_tags(t, cfg.tier, cfg.tags)
        child = pulumi.ResourceOptions(parent=self)
        # The one place that says whether this tenant has an API key (a sandbox that asks for one).
        # Its renewal function and schedule are declared exactly when it does.
        has_api_key = cfg.auth.api_key
        handlers = {**HANDLERS, **({KEY_RENEWAL: KEY_RENEWAL_HANDLER} if has_api_key else {})}
        fn_names = {k: naming.physical(t, k) for k in handlers}

        log_groups = {k: naming.log_group(fn) for k, fn in fn_names.items()}

        key = TenantKey(f"{name}-kms", TenantKeyArgs(t, cfg.region, args.account_id, tags,
                                                     log_group_names=tuple(log_groups.values()),
                                                     log_group_patterns=(naming.appsync_log_groups(),)), child)
        events = EventStore(f"{name}-events", EventStoreArgs(
            naming.physical(t, "events"), key.arn, protect=cfg.deletion_protection, tags=tags), child)
        slots = cfg.read_models
        models = ReadModels(f"{name}-read-models", ReadModelsArgs(
            t, slots.active, slots.standby_slot if slots.standby else None, key.arn, tags), child)
        stream = EventStream(f"{name}-stream", EventStreamArgs(
            naming.physical(t, "event-stream"), cfg.stream_mode.value, cfg.shard_count, cfg.stream_retention_hours,
            key.arn, tags), child)
        bucket = ArchiveBucket(f"{name}-archive", ArchiveBucketArgs(
            naming.archive_bucket_prefix(t), key.arn,
            cfg.archive_retention_days, tags,
            force_destroy=not cfg.deletion_protection), child)
        queues = {k: FailureQueue(f"{name}-{k}-dlq", FailureQueueArgs(naming.physical(t, f"{k}-dlq"), key.arn, tags),
                                  child) for k in CONSUMERS}

        # Everything that reads or writes read models points at the ACTIVE slot only; the standby
        # slot is written by `tenantry replay` alone, until the tenant file makes it active.
        table, accounts, ledger = events.table, models.active.accounts, models.active.ledger
        bucket_arn = bucket.bucket.arn
        log_arns = {k: pulumi.Output.from_input(args.account_id).apply(
            lambda a, group=group: f"{log_group_arn(cfg.region, a, group)}:*")
            for k, group in log_groups.items()}

        def grants(k: str, *extra: Grant) -> list[Grant]:
            base = [Grant("Logs", LOGS_WRITE, (log_arns[k],)), Grant("TenantKey", KMS_USE, (key.arn,))]
            if k in queues:
                base.append(Grant("FailureQueue", ("sqs:SendMessage",), (queues[k].queue.arn,)))
            return base + list(extra)

        snapshots = pulumi.Output.concat(bucket_arn, "/", keys.SNAPSHOT_PREFIX, "*")
        archive = pulumi.Output.concat(bucket_arn, "/", keys.ARCHIVE_PREFIX, "*")
        role_grants = {
            "command": grants(
                "command",
                # TransactWriteItems is an API, not an IAM action: a transaction is authorized item by
                # item as PutItem / UpdateItem / ConditionCheckItem (all in TABLE_WRITE).
                Grant("EventStore", TABLE_READ + TABLE_WRITE, (table.arn,)),
                Grant("SnapshotSpill", ("s3:GetObject", "s3:PutObject"), (snapshots,))),
            "publisher": grants(
                "publisher",
                Grant("EventStoreStream", DDB_STREAM_READ, (table.stream_arn,)),
                Grant("EventStoreStreamList", DDB_STREAM_LIST, ("*",)),
                Grant("EventStream", KINESIS_WRITE, (stream.stream.arn,))),
            "projector": grants(
                "projector",
                Grant("EventStream", KINESIS_READ, (stream.stream.arn,)),
                # Gap fill reads forward from a known version: no snapshots, so no spill bucket.
                Grant("EventStoreGapFill", TABLE_READ, (table.arn,)),
                Grant("ReadModels", TABLE_READ + TABLE_WRITE,
                      (accounts.arn, pulumi.Output.concat(accounts.arn, "/index/*"), ledger.arn))),
            "archiver": grants(
                "archiver",
                Grant("EventStream", KINESIS_READ, (stream.stream.arn,)),
                Grant("Archive", ("s3:PutObject",), (archive,))),
            # `*`: AppSync API keys have no resource type in IAM (see key_renewal.RENEWAL_ACTIONS).
            **({KEY_RENEWAL: grants(KEY_RENEWAL, Grant("ApiKeyRenewal", RENEWAL_ACTIONS, ("*",)))}
               if has_api_key else {}),
        }
        roles = {k: FunctionRole(f"{name}-{k}-role", FunctionRoleArgs(naming.physical(t, k), g, tags), child)
                 for k, g in role_grants.items()}

        base_env = {env.TENANT_ID: t, env.EVENTS_TABLE: table.name, env.SNAPSHOT_INTERVAL: str(cfg.snapshot_interval)}
        layer = cfg.powertools_layer_arn or powertools_layer_arn(cfg.region)

        def function(k: str, environment: dict, depends_on: tuple = ()) -> TenantFunction:
            return TenantFunction(f"{name}-{k}", TenantFunctionArgs(
                function_name=fn_names[k], handler=handlers[k], role_arn=roles[k].role.arn,
                environment={**base_env, **environment}, code_path=str(args.package.path),
                source_code_hash=args.package.source_code_hash, layer_arn=layer, kms_key_arn=key.arn, tags=tags,
                log_retention_days=cfg.log_retention_days,
                # The inline policy must exist before the function can use (or be fed by) anything.
                depends_on=(roles[k].policy, *depends_on)), child)

        command = function("command", {env.ARCHIVE_BUCKET: bucket.bucket.bucket})
        users = (UserDirectory(f"{name}-identity", UserDirectoryArgs(
            tenant=t, region=cfg.region, tags=tags, mfa=cfg.auth.mfa, self_sign_up=cfg.auth.self_sign_up),
            child) if cfg.auth.users == "cognito" else None)
        oidc = cfg.auth.oidc
        auth = ApiAuth(region=cfg.region, user_pool_id=users.user_pool_id if users else None,
                       oidc_issuer=oidc.issuer if oidc else None, oidc_client_id=oidc.client_id if oidc else None,
                       api_key=cfg.auth.api_key)
        api = Api(f"{name}-api", ApiArgs(
            tenant=t, tags=tags, accounts_table_name=accounts.name, accounts_table_arn=accounts.arn,
            ledger_table_name=ledger.name, ledger_table_arn=ledger.arn,
            command_function_arn=command.function.arn, projector_role_name=roles["projector"].role.name,
            api_key_expires_days=cfg.api_key_expires_days, field_log_level=cfg.api_log_level,
            query_depth_limit=cfg.api_query_depth_limit, resolver_count_limit=cfg.api_resolver_count_limit,
            kms_key_arn=key.arn, auth=auth, log_retention_days=cfg.log_retention_days), child)
        functions = {
            "command": command,
            "publisher": function("publisher", {env.EVENT_STREAM: stream.stream.name}),
            "projector": function("projector", {
                env.ACCOUNTS_TABLE: accounts.name, env.LEDGER_TABLE: ledger.name,
                env.GRAPHQL_URL: api.graphql_url}, depends_on=(api,)),
            "archiver": function("archiver", {env.ARCHIVE_BUCKET: bucket.bucket.bucket}),
        }
        if has_api_key:
            functions[KEY_RENEWAL] = function(KEY_RENEWAL, {
                env.API_ID: api.api_id, env.API_KEY_ID: api.api_key_id,
                env.API_KEY_EXPIRES_DAYS: str(cfg.api_key_expires_days)})
            KeyRenewalSchedule(f"{name}-key-renewal", KeyRenewalScheduleArgs(
                schedule_name=naming.physical(t, KEY_RENEWAL), role_name=naming.physical(t, "key-renewal-schedule"),
                function_arn=functions[KEY_RENEWAL].function.arn, account_id=args.account_id, tags=tags), child)

        sources = {"publisher": table.stream_arn, "projector": stream.stream.arn, "archiver": stream.stream.arn}
        for k in CONSUMERS:
            projector = k == "projector"
            StreamMapping(f"{name}-{k}-source", StreamMappingArgs(
                function_name=functions[k].function.name, event_source_arn=sources[k],
                failure_queue_arn=queues[k].queue.arn, tags=tags,
                batch_size=cfg.projector_batch_size if projector else 100,
                parallelization_factor=cfg.projector_parallelization_factor if projector else 1,
                filter_pattern=event_insert_filter() if k == "publisher" else None), child)

        Alarms(f"{name}-alarms", AlarmsArgs(
            tenant=t, topic_name=naming.physical(t, "alarms"), alarm_prefix=naming.physical(t, "alarm"), kms_key_arn=key.arn,
            functions=[WatchedFunction(k, f.function.name, k in CONSUMERS) for k, f in functions.items()],
            failure_queues={k: q.queue.name for k, q in queues.items()}, tags=tags, email=cfg.alarm_email), child)
        Dashboard(f"{name}-dashboard", DashboardArgs(
            dashboard_name=naming.physical(t, "dashboard"), tenant=t, region=cfg.region,
            function_names={k: f.function.name for k, f in functions.items()}, consumers=CONSUMERS,
            failure_queues={k: q.queue.name for k, q in queues.items()}), child)

        # The stack outputs (`define_stack` exports exactly these); the standby pair only when declared.
        standby = ({"standby_accounts_table": models.standby.accounts.name,
                    "standby_ledger_table": models.standby.ledger.name} if models.standby else {})
        self.outputs: dict[str, pulumi.Input] = {
            "graphql_url": api.graphql_url, "realtime_url": api.realtime_url,
            **({"api_key": api.api_key} if api.api_key is not None else {}),
            **({"user_pool_id": users.user_pool_id, "user_pool_client_id": users.client_id, "issuer": users.issuer}
               if users else {"issuer": oidc.issuer if oidc else None}),
            "events_table": table.name, "accounts_table": accounts.name, "ledger_table": ledger.name, **standby,
            "stream_name": stream.stream.name, "bucket_name": bucket.bucket.bucket,
            "failure_queue_urls": {k: q.queue.url for k, q in queues.items()},
        }
        self.register_outputs(self.outputs)
