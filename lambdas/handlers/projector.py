"""Kinesis -> read models (accounts, ledger) -> `publishAccountUpdate`, one batch at a time.

The projection runtime works on the whole batch (that is what lets it coalesce: one read-model
write and one publish per account per batch); Powertools' `BatchProcessor` then turns the
aggregates that failed into batch item failures, record by record. Every record of a failed
aggregate is reported, so Lambda retries from the earliest of them; records of other aggregates
after that point are redelivered too and skipped as already applied.

An aggregate that fails for good (an undecodable record, a corrupt item or a hole in the event store
hit by a gap fill) costs only itself. When its record heads a batch of several, naming it cannot
move Lambda's checkpoint, so the invocation fails instead and Lambda bisects down to it (see
`lambdas.handlers.poison`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from pydantic import ValidationError

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.projections import ACCOUNTS
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.errors import CorruptEventError
from lambdas.eventstore.projection import (
    BatchOutcome,
    EventGapError,
    ProjectionRuntime,
    Publisher,
    UndecodableRecordError,
)
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from lambdas.handlers.appsync_publisher import AppSyncPublisher
from lambdas.handlers.poison import PoisonRecord, raise_if_poison_heads
from lambdas.handlers import telemetry
from lambdas.handlers.settings import Settings

logger = Logger(service="projector")
tracer = Tracer(service="projector")
metrics = telemetry.handler_metrics("projector")
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)
# Accounts of one batch are projected side by side: each is a read-model write and an AppSync call.
PARALLEL_AGGREGATES = 8
# Failures that retrying the same records can never cure (a conflict or a throttle can be cured).
POISON_ERRORS = (UndecodableRecordError, CorruptEventError, EventGapError)


class AggregateProjectionFailedError(Exception):
    def __init__(self, aggregate_id: str, sequence_number: str, cause: Exception) -> None:
        super().__init__(f"{aggregate_id} (record {sequence_number}): {cause!r}")
        self.aggregate_id = aggregate_id
        self.sequence_number = sequence_number
        self.cause = cause


def decode_records(records: Sequence[dict]) -> tuple[list[EventEnvelope], set[str]]:
    """Envelopes of the batch, and the aggregates (partition keys) with an undecodable record."""
    envelopes, poisoned = [], set()
    for raw in records:
        record = KinesisStreamRecord(raw)
        try:
            envelopes.append(EventEnvelope.from_json(record.kinesis.data_as_bytes()))
        except (ValidationError, ValueError):
            poisoned.add(record.kinesis.partition_key)
    return envelopes, poisoned


def project_records(runtime: ProjectionRuntime, records: Sequence[dict]) -> BatchOutcome:
    envelopes, poisoned = decode_records(records)
    return runtime.project(envelopes, poisoned=poisoned)


def head_poison(records: Sequence[dict], outcome: BatchOutcome) -> PoisonRecord | None:
    """The batch's first record, when its aggregate failed for good."""
    if not records:
        return None
    head = KinesisStreamRecord(records[0]).kinesis
    cause = outcome.failed.get(head.partition_key)
    if not isinstance(cause, POISON_ERRORS):
        return None
    return PoisonRecord(head.sequence_number, head.partition_key, failed_version(cause), str(cause))


def failed_version(cause: Exception) -> int | None:
    """The version an aggregate's failure is about, when the error says."""
    return cause.expected_version if isinstance(cause, EventGapError) else getattr(cause, "version", None)


def build_runtime(*, tenant_id: str, events_table: str, accounts_table: str, ledger_table: str,
                  client: Any = None, publisher: Publisher | None = None,
                  concurrency: int = PARALLEL_AGGREGATES) -> ProjectionRuntime:
    """The accounts projection over a tenant's tables: what the projector runs, and what replay,
    redrive, the benchmark and the tests run too. One DynamoDB client serves both sides."""
    client = client or boto3.client("dynamodb")
    store = DynamoDBEventStore(events_table, client, tenant_id=tenant_id)
    read_model = DynamoDBReadModel(accounts_table, ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY, client=client)
    return ProjectionRuntime(ACCOUNTS, read_model, store, publisher, concurrency=concurrency)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Read once per container: a function's environment does not change while it is warm."""
    return Settings.from_env()


@lru_cache(maxsize=1)
def runtime() -> ProjectionRuntime:
    s = settings()
    return build_runtime(tenant_id=s.tenant_id, events_table=s.events_table, accounts_table=s.accounts_table,
                         ledger_table=s.ledger_table,
                         publisher=AppSyncPublisher(s.graphql_url) if s.graphql_url else None)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    logger.append_keys(tenant_id=settings().tenant_id)
    telemetry.for_tenant(metrics, settings().tenant_id)
    records = event.get("Records", [])
    outcome = project_records(runtime(), records)
    for aggregate_id, exc in outcome.failed.items():
        logger.warning("aggregate failed", extra={"aggregate_id": aggregate_id, "error": repr(exc),
                                                  "poison": isinstance(exc, POISON_ERRORS)})
    telemetry.count(metrics, telemetry.EVENTS_APPLIED, outcome.stats.events_applied)
    telemetry.count(metrics, telemetry.READ_MODEL_WRITES, outcome.stats.commits)
    raise_if_poison_heads(records, head_poison(records, outcome))

    def record_handler(record: KinesisStreamRecord) -> None:
        cause = outcome.failed.get(record.kinesis.partition_key)
        if cause is not None:
            raise AggregateProjectionFailedError(record.kinesis.partition_key, record.kinesis.sequence_number, cause)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
