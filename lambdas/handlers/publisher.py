"""DynamoDB Streams -> Kinesis: every new event item becomes a clean JSON envelope on the tenant's
stream, `PartitionKey` = aggregate id (per-aggregate order).

A poison item (one no consumer could read: malformed, bad JSON, missing metadata, an event type or
schema version the domain does not know, data that does not validate) costs only its own aggregate:
- every healthy record of the other aggregates in the batch is published, before and after it;
- the later records of the poisoned aggregate in the batch are held back and retried with it, so
  no batch publishes an aggregate past its poison item (once the poison is parked, that
  aggregate's later events flow again; the projector's gap fill then hits the same item and
  fails that aggregate alone, until the item is repaired and both queues are redriven);
- the partial batch response names the FIRST failed record (a poison item, or a record Kinesis
  rejected). Lambda retries from there; records after it that did land are published again, and
  the projector skips those duplicates. When a poison item heads a batch of several, naming it
  cannot move the checkpoint, so the handler fails the invocation instead and Lambda bisects down
  to it (see `lambdas.handlers.poison`); alone, it is named, retried and parked in the on-failure
  queue by itself.

The whole batch goes out in as few `PutRecords` calls as possible, so Powertools' per-record
`BatchProcessor` does not fit; the partial batch response is built here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from pydantic import ValidationError

from lambdas.banking.events import registry as account_events
from lambdas.eventstore import items
from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.errors import CorruptEventError
from lambdas.eventstore.events import EventRegistry
from lambdas.handlers.poison import PoisonRecord, raise_if_poison_heads
from lambdas.handlers import telemetry
from lambdas.handlers.settings import Settings

logger = Logger(service="publisher")
tracer = Tracer(service="publisher")
metrics = telemetry.handler_metrics("publisher")

MAX_RECORDS_PER_PUT = 500
MAX_BYTES_PER_PUT = 5 * 1024 * 1024


@dataclass(frozen=True)
class FailedRecord:
    sequence_number: str                    # DynamoDB stream sequence number
    aggregate_id: str
    version: int
    reason: str
    poison: bool                            # True: the item itself; False: Kinesis said no (retry)

    def as_poison(self) -> PoisonRecord:
        return PoisonRecord(self.sequence_number, self.aggregate_id, self.version, self.reason)


@dataclass(frozen=True)
class PublishOutcome:
    sent: int
    skipped: int                            # not event inserts
    failed: tuple[FailedRecord, ...] = ()   # in batch order
    held_back: int = 0                      # behind a poison item of their aggregate
    aggregates: tuple[str, ...] = ()        # that had events published, sorted

    @property
    def first_failed_sequence(self) -> str | None:
        return self.failed[0].sequence_number if self.failed else None

    @property
    def poison(self) -> tuple[FailedRecord, ...]:
        return tuple(f for f in self.failed if f.poison)


@dataclass
class _Entry:
    sequence: str
    aggregate_id: str
    version: int
    data: bytes

    def put_entry(self) -> dict:
        return {"Data": self.data, "PartitionKey": self.aggregate_id}


@dataclass
class _Batch:
    entries: list[_Entry] = field(default_factory=list)
    poison: list[FailedRecord] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)     # sequence number -> index in the batch
    skipped: int = 0
    held_back: int = 0


def is_event_insert(record: dict) -> bool:
    image = record.get("dynamodb", {}).get("NewImage") or {}
    return record.get("eventName") == "INSERT" and image.get(k.KIND, {}).get("S") == k.KIND_EVENT


def publishable(image: dict, registry: EventRegistry = account_events) -> EventEnvelope:
    """The envelope of an event item, or CorruptEventError when a consumer would choke on it: the
    item must decode, its envelope must validate as the projector reads it, and the domain must
    know its type, schema version and data. Checked here, a poison item stops at the source."""
    envelope = items.decode(image).envelope                  # malformed, bad JSON, missing metadata
    try:
        envelope = EventEnvelope.model_validate(dict(envelope))
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, error["loc"])) for error in exc.errors())
        raise CorruptEventError(envelope.aggregate_id, envelope.version, f"invalid envelope fields: {fields}") from exc
    registry.decode(envelope.aggregate_id, envelope.version, envelope.event_type, envelope.schema_version,
                    envelope.data)                            # UnknownEventTypeError, invalid data
    return envelope


def prepare(records: list[dict], registry: EventRegistry) -> _Batch:
    batch, poisoned = _Batch(), set()
    for index, record in enumerate(records):
        if not is_event_insert(record):
            batch.skipped += 1
            continue
        sequence, image = record["dynamodb"]["SequenceNumber"], record["dynamodb"]["NewImage"]
        batch.position[sequence] = index
        aggregate_id = image.get(k.PARTITION_KEY, {}).get("S", "?")
        if aggregate_id in poisoned:
            batch.held_back += 1         # retried with its poison: never published past the hole
            continue
        try:
            envelope = publishable(image, registry)
        except CorruptEventError as exc:
            poisoned.add(aggregate_id)
            batch.poison.append(FailedRecord(sequence, aggregate_id, exc.version, exc.reason, poison=True))
            continue
        batch.entries.append(_Entry(sequence, aggregate_id, envelope.version, envelope.to_json().encode()))
    return batch


class StreamPublisher:
    def __init__(self, stream_name: str, client: Any = None, registry: EventRegistry = account_events) -> None:
        self.stream_name = stream_name
        self.client = client or boto3.client("kinesis")
        self.registry = registry

    def publish(self, records: list[dict]) -> PublishOutcome:
        batch = prepare(records, self.registry)
        accepted, rejected = self._put(batch.entries)
        failed = sorted([*batch.poison, *rejected], key=lambda f: batch.position[f.sequence_number])
        return PublishOutcome(len(accepted), batch.skipped, tuple(failed), batch.held_back,
                              tuple(sorted({e.aggregate_id for e in accepted})))

    def _put(self, entries: list[_Entry]) -> tuple[list[_Entry], list[FailedRecord]]:
        """(what Kinesis accepted, the first entry it rejected). Stops at the first chunk with a
        rejection: everything after it is retried from the checkpoint anyway."""
        accepted: list[_Entry] = []
        for chunk in _chunks(entries):
            response = self.client.put_records(StreamName=self.stream_name, Records=[e.put_entry() for e in chunk])
            results = list(zip(chunk, response["Records"]))
            accepted += [entry for entry, result in results if not result.get("ErrorCode")]
            rejected = next(((entry, result) for entry, result in results if result.get("ErrorCode")), None)
            if rejected is not None:
                entry, result = rejected
                return accepted, [FailedRecord(entry.sequence, entry.aggregate_id, entry.version,
                                               f"Kinesis PutRecords: {result['ErrorCode']}", poison=False)]
        return accepted, []


def _chunks(entries: list[_Entry]) -> list[list[_Entry]]:
    chunks: list[list[_Entry]] = [[]]
    size = 0
    for entry in entries:
        entry_size = len(entry.data) + len(entry.aggregate_id.encode())
        if len(chunks[-1]) == MAX_RECORDS_PER_PUT or size + entry_size > MAX_BYTES_PER_PUT:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return [c for c in chunks if c]


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Read once per container: a function's environment does not change while it is warm."""
    return Settings.from_env()


@lru_cache(maxsize=1)
def stream_publisher() -> StreamPublisher:
    return StreamPublisher(settings().event_stream)


def log_failures(outcome: PublishOutcome) -> None:
    for failed in outcome.failed:
        log = logger.error if failed.poison else logger.warning
        log("poison event item" if failed.poison else "event not published",
            extra={"aggregate_id": failed.aggregate_id, "version": failed.version,
                   "sequence_number": failed.sequence_number, "reason": failed.reason})
    if outcome.poison:
        telemetry.count(metrics, telemetry.POISON_EVENTS, len(outcome.poison))
    if outcome.held_back:
        logger.warning("events held back behind a poison item", extra={"held_back": outcome.held_back})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    logger.append_keys(tenant_id=settings().tenant_id)
    telemetry.for_tenant(metrics, settings().tenant_id)
    records = event.get("Records", [])
    outcome = stream_publisher().publish(records)
    telemetry.count(metrics, telemetry.EVENTS_PUBLISHED, outcome.sent)
    log_failures(outcome)
    if not outcome.failed:
        return {"batchItemFailures": []}
    first = outcome.failed[0]
    raise_if_poison_heads(records, first.as_poison() if first.poison else None)
    telemetry.count(metrics, telemetry.PUBLISH_FAILURES)
    return {"batchItemFailures": [{"itemIdentifier": first.sequence_number}]}
