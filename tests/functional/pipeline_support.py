"""Shared setup of the pipeline tests: a moto account holding one tenant's pipeline, the Lambda
environment the handlers read, and a banking service writing to the moto event table."""

from __future__ import annotations

from dataclasses import dataclass

from moto import mock_aws

from lambdas.banking.service import BankingService
from lambdas.eventstore import items
from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import EventEnvelope, new_event_id, utc_now_iso
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from lambdas.eventstore.repository import DEFAULT_SNAPSHOT_INTERVAL
from lambdas.handlers import archiver, projector, publisher
from tenantry.ops import replay
from tenantry.ops.local_pipeline import QUIET_ENV, LocalPipeline, lambda_environment
from tenantry.ops.resources import Clients, PipelineNames, create_pipeline

REGION = QUIET_ENV["AWS_REGION"]
TENANT = "acme"


@dataclass
class World:
    clients: Clients
    names: PipelineNames
    stream_arn: str
    store: DynamoDBEventStore
    bank: BankingService
    read_model: DynamoDBReadModel

    def pipeline(self, **kwargs) -> LocalPipeline:
        return LocalPipeline(self.clients, self.names, self.stream_arn, **kwargs)


def clear_handler_caches() -> None:
    for fn in (publisher.stream_publisher, projector.runtime, archiver.archiver,
               publisher.settings, projector.settings, archiver.settings):
        getattr(fn, "cache_clear", lambda: None)()


def make_world(monkeypatch, snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL):
    """Yields a World inside mock_aws (use from a generator fixture)."""
    for key, value in QUIET_ENV.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        # A hand-made pipeline, not a declared one: any bucket name will do.
        names = PipelineNames.for_tenant(TENANT, bucket=f"{TENANT}-test-archive")
        clients = Clients.create(region=REGION)
        stream_arn = create_pipeline(clients, names)
        for key, value in lambda_environment(names, snapshot_interval=snapshot_interval).items():
            monkeypatch.setenv(key, value)
        clear_handler_caches()
        runtime = projector.build_runtime(tenant_id=TENANT, events_table=names.events_table,
                                          accounts_table=names.accounts_table, ledger_table=names.ledger_table,
                                          client=clients.dynamodb)
        bank = BankingService(runtime.store, TENANT, snapshot_interval=snapshot_interval)
        yield World(clients, names, stream_arn, runtime.store, bank, runtime.read_model)
        clear_handler_caches()


def aggregate_ids(world: World) -> list[str]:
    return sorted(replay.aggregate_ids(world.clients.dynamodb, world.names.events_table))


def on_failure_record(batch_info_key: str, info: dict) -> dict:
    """The message Lambda sends to an on-failure destination: pointers to the batch, not its data."""
    return {
        "requestContext": {"requestId": "00000000-0000-0000-0000-000000000000", "condition": "RetryAttemptsExhausted",
                           "approximateInvokeCount": 6},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        batch_info_key: info,
    }


# -- items written straight into the event table (what no command would ever write) ----------

POISON_KINDS = ("unknown event type", "bad JSON metadata", "missing metadata")


def event_item(aggregate_id: str, version: int, event_type: str, data: dict, schema_version: int = 1) -> dict:
    """A well-formed event item, in the low-level form the table and its stream hold."""
    command_id = f"raw-{aggregate_id}-{version}"
    return items.encode(EventEnvelope(
        aggregate_id=aggregate_id, aggregate_type="Account", version=version, event_id=new_event_id(),
        event_type=event_type, schema_version=schema_version, occurred_at=utc_now_iso(), tenant_id=TENANT,
        command_id=command_id, correlation_id=command_id, causation_id=command_id, actor="test", data=data))


def opened_item(aggregate_id: str, version: int = 1) -> dict:
    return event_item(aggregate_id, version, "AccountOpened",
                      {"account_id": aggregate_id, "owner_id": "o", "currency": "EUR", "initial_deposit": 0},
                      schema_version=2)


def poison_item(aggregate_id: str, version: int, kind: str) -> dict:
    """An event item no consumer can read, of one of `POISON_KINDS`."""
    item = opened_item(aggregate_id, version)
    if kind == "unknown event type":
        item[k.EVENT_TYPE] = {"S": "MoneyTeleported"}
    elif kind == "bad JSON metadata":
        item[k.META] = {"S": '{"t": "Account", '}
    elif kind == "missing metadata":
        del item[k.META]
    else:
        raise ValueError(f"no poison kind {kind!r}")
    return item


def put_item(world: World, item: dict) -> None:
    world.clients.dynamodb.put_item(TableName=world.names.events_table, Item=item)
