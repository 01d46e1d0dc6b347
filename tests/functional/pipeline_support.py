"""Shared setup of the pipeline tests: a moto account holding one tenant's pipeline, the Lambda
environment the handlers read, and a banking service writing to the moto event table."""

from __future__ import annotations

from dataclasses import dataclass

from moto import mock_aws

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.service import BankingService
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from lambdas.handlers import archiver, projector, publisher
from tenantry.ops.local_pipeline import LocalPipeline, lambda_environment
from tenantry.ops.resources import Clients, PipelineNames, create_pipeline

REGION = "us-east-1"
TENANT = "acme"
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
         "POWERTOOLS_LOG_LEVEL": "ERROR", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
         "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


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
    for fn in (publisher.stream_publisher, projector.runtime, archiver.archiver):
        getattr(fn, "cache_clear", lambda: None)()


def make_world(monkeypatch, snapshot_interval: int = 10):
    """Yields a World inside mock_aws (use from a generator fixture)."""
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        names = PipelineNames.for_tenant(TENANT)
        clients = Clients.create(region=REGION)
        stream_arn = create_pipeline(clients, names)
        for key, value in lambda_environment(names, snapshot_interval=snapshot_interval).items():
            monkeypatch.setenv(key, value)
        clear_handler_caches()
        store = DynamoDBEventStore(names.events_table, clients.dynamodb, tenant_id=TENANT)
        bank = BankingService(store, TENANT, snapshot_interval=snapshot_interval)
        read_model = DynamoDBReadModel(names.accounts_table, names.ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY,
                                       client=clients.dynamodb)
        yield World(clients, names, stream_arn, store, bank, read_model)
        clear_handler_caches()


def aggregate_ids(world: World) -> list[str]:
    ids: set[str] = set()
    for page in world.clients.dynamodb.get_paginator("scan").paginate(TableName=world.names.events_table):
        ids.update(item["pk"]["S"] for item in page["Items"])
    return sorted(ids)


def on_failure_record(batch_info_key: str, info: dict) -> dict:
    """The message Lambda sends to an on-failure destination: pointers to the batch, not its data."""
    return {
        "requestContext": {"requestId": "00000000-0000-0000-0000-000000000000", "condition": "RetryAttemptsExhausted",
                           "approximateInvokeCount": 6},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        batch_info_key: info,
    }
