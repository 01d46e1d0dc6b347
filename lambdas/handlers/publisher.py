"""DynamoDB Streams -> Kinesis: every new event item becomes a clean JSON envelope on the tenant's
stream, `PartitionKey` = aggregate id (per-aggregate order).

The whole batch goes out in as few `PutRecords` calls as possible, so Powertools' per-record
`BatchProcessor` does not fit; the partial batch response is built here instead, with the same
contract: on any failure report the FIRST failed record. Lambda then retries that record and
everything after it, so no event of an aggregate is ever acknowledged before an earlier one.
(Records after the first failure that did land are re-sent on retry; the projector skips those
duplicates and fills any gap from the event store, so order on the stream is not load-bearing.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.eventstore import items
from lambdas.eventstore import keys as k
from lambdas.eventstore.errors import CorruptEventError
from lambdas.handlers.settings import Settings

logger = Logger(service="publisher")
tracer = Tracer(service="publisher")
metrics = Metrics(namespace="Tenantry", service="publisher")

MAX_RECORDS_PER_PUT = 500
MAX_BYTES_PER_PUT = 5 * 1024 * 1024


@dataclass(frozen=True)
class PublishOutcome:
    sent: int
    skipped: int
    first_failed_sequence: str | None       # DynamoDB stream sequence number, or None: all sent


def is_event_insert(record: dict) -> bool:
    image = record.get("dynamodb", {}).get("NewImage") or {}
    return record.get("eventName") == "INSERT" and image.get(k.KIND, {}).get("S") == k.KIND_EVENT


class StreamPublisher:
    def __init__(self, stream_name: str, client: Any = None) -> None:
        self.stream_name = stream_name
        self.client = client or boto3.client("kinesis")

    def publish(self, records: list[dict]) -> PublishOutcome:
        entries: list[tuple[str, dict]] = []          # (stream sequence number, Kinesis entry)
        skipped, poison = 0, None
        for record in records:
            if not is_event_insert(record):
                skipped += 1
                continue
            sequence = record["dynamodb"]["SequenceNumber"]
            try:
                envelope = items.decode(record["dynamodb"]["NewImage"]).envelope   # snapshot stripped
            except CorruptEventError:
                logger.exception("undecodable event item", extra={"sequence": sequence})
                poison = sequence
                break
            data = envelope.to_json().encode()
            entries.append((sequence, {"Data": data, "PartitionKey": envelope.aggregate_id}))
        sent = 0
        for chunk in _chunks(entries):
            response = self.client.put_records(StreamName=self.stream_name, Records=[e for _, e in chunk])
            if response.get("FailedRecordCount", 0):
                index = next(i for i, r in enumerate(response["Records"]) if r.get("ErrorCode"))
                return PublishOutcome(sent + index, skipped, chunk[index][0])
            sent += len(chunk)
        return PublishOutcome(sent, skipped, poison)


def _chunks(entries: list[tuple[str, dict]]) -> list[list[tuple[str, dict]]]:
    chunks: list[list[tuple[str, dict]]] = [[]]
    size = 0
    for entry in entries:
        entry_size = len(entry[1]["Data"]) + len(entry[1]["PartitionKey"].encode())
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


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    logger.append_keys(tenant_id=settings().tenant_id)
    outcome = stream_publisher().publish(event.get("Records", []))
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=outcome.sent)
    if outcome.first_failed_sequence is None:
        return {"batchItemFailures": []}
    logger.warning("publish incomplete", extra={"sent": outcome.sent, "from": outcome.first_failed_sequence})
    metrics.add_metric(name="PublishFailures", unit=MetricUnit.Count, value=1)
    return {"batchItemFailures": [{"itemIdentifier": outcome.first_failed_sequence}]}
