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
from .event_store import EventStore, EventStoreArgs
from .functions import LOG_RETENTION_DAYS, TenantFunction, TenantFunctionArgs, powertools_layer_arn
from .iam import FunctionRole, FunctionRoleArgs, Grant
from .keys import TenantKey, TenantKeyArgs, log_group_arn
from .mappings import StreamMapping, StreamMappingArgs, event_insert_filter
from .naming import CONSUMERS, HANDLERS
from .packaging import LambdaPackage
from .queues import FailureQueue, FailureQueueArgs
from .read_models import ReadModels, ReadModelsArgs
from .stream import EventStream, EventStreamArgs
from .tags import tenant_tags


TABLE_READ = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem")
DDB_STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                   "dynamodb:ListStreams")
KINESIS_READ = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard")
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
        fn_names = {k: naming.physical(t, k) for k in HANDLERS}

        log_groups = {k: naming.log_group(fn) for k, fn in fn_names.items()}

        key = TenantKey(f"{name}-kms", TenantKeyArgs(t, cfg.region, args.account_id, tags,
                                                     log_group_names=tuple(log_groups.values())), child)
        events = EventStore(f"{name}-events", EventStoreArgs(
            naming.physical(t, "events"), key.arn, protect=cfg.deletion_protection, tags=tags), child)
        slots = cfg.read_models
        models = ReadModels(f"{name}-read-models", ReadModelsArgs(
            t, slots.active, slots.standby_slot if slots.standby else None, key.arn, tags), child)
        stream = EventStream(f"{name}-stream", EventStreamArgs(
            naming.physical(t, "event-stream"), cfg.stream_mode.value, cfg.shard_count, cfg.stream_retention_hours,
            key.arn, tags), child)
        bucket = ArchiveBucket(f"{name}-archive", ArchiveBucketArgs(
            pulumi.Output.from_input(args.account_id).apply(lambda a: naming.bucket(t, a)), key.arn,
            cfg.archive_glacier_transition_days, cfg.archive_retention_days, tags,
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
                Grant("EventStore", TABLE_READ + TABLE_WRITE + ("dynamodb:TransactWriteItems",), (table.arn,)),
                Grant("SnapshotSpill", ("s3:GetObject", "s3:PutObject"), (snapshots,))),
            "publisher": grants(
                "publisher",
                Grant("EventStoreStream", DDB_STREAM_READ, (table.stream_arn,)),
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
        }
        roles = {k: FunctionRole(f"{name}-{k}-role", FunctionRoleArgs(naming.physical(t, k), g, tags), child)
                 for k, g in role_grants.items()}

        base_env = {env.TENANT_ID: t, env.EVENTS_TABLE: table.name, env.SNAPSHOT_INTERVAL: str(cfg.snapshot_interval)}
        layer = cfg.powertools_layer_arn or powertools_layer_arn(cfg.region)

        def function(k: str, environment: dict, depends_on: tuple = ()) -> TenantFunction:
            return TenantFunction(f"{name}-{k}", TenantFunctionArgs(
                function_name=fn_names[k], handler=HANDLERS[k], role_arn=roles[k].role.arn,
                environment={**base_env, **environment}, code_path=str(args.package.path),
                source_code_hash=args.package.source_code_hash, layer_arn=layer, kms_key_arn=key.arn, tags=tags,
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
            kms_key_arn=key.arn, auth=auth, log_retention_days=LOG_RETENTION_DAYS), child)
        functions = {
            "command": command,
            "publisher": function("publisher", {env.EVENT_STREAM: stream.stream.name}),
            "projector": function("projector", {
                env.ACCOUNTS_TABLE: accounts.name, env.LEDGER_TABLE: ledger.name,
                env.GRAPHQL_URL: api.graphql_url}, depends_on=(api,)),
            "archiver": function("archiver", {env.ARCHIVE_BUCKET: bucket.bucket.bucket}),
        }

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
            topic_name=naming.physical(t, "alarms"), alarm_prefix=naming.physical(t, "alarm"), kms_key_arn=key.arn,
            functions=[WatchedFunction(k, f.function.name, k in CONSUMERS) for k, f in functions.items()],
            failure_queues={k: q.queue.name for k, q in queues.items()}, tags=tags, email=cfg.alarm_email), child)

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
