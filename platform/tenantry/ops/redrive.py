"""Redrive the on-failure queue of one stream consumer, through that consumer's own code.

Each message is a Lambda on-failure record: it names a batch, not its records
(`KinesisBatchInfo` or `DDBStreamBatchInfo`: stream ARN, shard id, first and last sequence number,
arrival times). Which code reprocesses it depends on whose queue it is:
- projector (Kinesis): the batch read back from the shard goes through `project_records`, with the
  AppSync publisher when a GraphQL URL is known, so subscribers hear about redriven updates. Past
  retention: every aggregate is caught up to the head of the event store (version-guarded).
- archiver (Kinesis): the batch goes through `Archiver.archive`, which writes the object the
  failed invocation should have written (same key). Past retention: the events that can have been
  in the batch (occurred no later than its last record arrived) are taken from the event store
  and archived as the same lines under the batch's key; replay deduplicates by aggregate + version.
- publisher (DynamoDB Streams): the batch goes to Kinesis again through `StreamPublisher`, and
  the projector and archiver pick it up from there. Past retention: the event items written around
  the batch's arrival window are re-published from the event store (duplicates on Kinesis are
  skipped by the projector and deduplicated by replay).
A message is deleted only after its batch was reprocessed without failure. The event store
fallbacks read the aggregate ids (and, for the archiver and publisher, the history) once per run.
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from botocore.exceptions import ClientError

from lambdas.eventstore import items
from lambdas.eventstore.envelope import OCCURRED_AT_FORMAT, EventEnvelope, normalize_instant
from lambdas.eventstore.projection import Publisher
from lambdas.handlers.archiver import Archiver
from lambdas.handlers.projector import build_runtime, project_records
from lambdas.handlers.publisher import StreamPublisher, is_event_insert

from ..components.naming import CONSUMERS
from .replay import aggregate_ids
from .resources import Clients, DynamoDBStreamPump, KinesisPump, PipelineNames

# An event is written (and reaches DynamoDB Streams) at most one command-Lambda run after it
# occurred: 15 minutes is Lambda's longest timeout. A minute of clock skew on the other side.
COMMAND_LOOKBACK = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=1)


class UnknownFunctionError(ValueError):
    def __init__(self, function: str) -> None:
        super().__init__(f"no stream consumer {function!r} (one of {', '.join(CONSUMERS)})")
        self.function = function


@dataclass
class RedriveResult:
    messages: int = 0
    redriven: int = 0                  # deleted after success
    events: int = 0
    from_event_store: int = 0          # messages whose batch had left the stream
    kept: list[str] = field(default_factory=list)   # message ids left in the queue (still failing)


@dataclass(frozen=True)
class Outcome:
    """What reprocessing one failure record did."""
    events: int
    from_event_store: bool
    failed: bool


class Redriver:
    """`function` says whose queue this is; `publisher` (projector only) pushes redriven rows to
    AppSync subscribers, as the projector Lambda does."""

    def __init__(self, clients: Clients, names: PipelineNames, function: str = "projector",
                 publisher: Publisher | None = None) -> None:
        if function not in CONSUMERS:
            raise UnknownFunctionError(function)
        self.clients, self.names, self.function = clients, names, function
        self.runtime = build_runtime(tenant_id=names.tenant, events_table=names.events_table,
                                     accounts_table=names.accounts_table, ledger_table=names.ledger_table,
                                     client=clients.dynamodb, publisher=publisher)
        self._ids: list[str] | None = None                  # the event store, read once per run
        self._history: list[EventEnvelope] | None = None

    def run(self, queue: str, *, max_messages: int = 1000, progress: TextIO | None = sys.stderr) -> RedriveResult:
        sqs, result = self.clients.sqs, RedriveResult()
        self._ids = self._history = None
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        while result.messages < max_messages:
            page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300)
            messages = page.get("Messages", [])
            if not messages:
                break
            for message in messages:
                result.messages += 1
                outcome = self.redrive(json.loads(message["Body"]))
                result.events += outcome.events
                result.from_event_store += outcome.from_event_store
                if outcome.failed:
                    result.kept.append(message["MessageId"])
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    result.redriven += 1
                if progress:
                    progress.write(f"redrive {queue}: {result.redriven}/{result.messages} messages\n")
        return result

    def redrive(self, failure: dict) -> Outcome:
        try:
            if self.function == "publisher":
                return self._publisher(failure.get("DDBStreamBatchInfo") or {})
            info = failure.get("KinesisBatchInfo") or {}
            if self.function == "archiver":
                return self._archiver(info)
            return self._projector(info)
        except ClientError:      # S3 / Kinesis refused the write: the message stays for the next run
            return Outcome(0, False, True)

    # -- per consumer -------------------------------------------------------------------------

    def _projector(self, info: dict) -> Outcome:
        records = self._kinesis_records(info)
        if records:
            outcome = project_records(self.runtime, records)
            return Outcome(outcome.stats.events_in, False, bool(outcome.failed))
        outcome = self.runtime.catch_up(self._aggregate_ids())
        return Outcome(outcome.stats.events_applied, True, bool(outcome.failed))

    def _archiver(self, info: dict) -> Outcome:
        archiver = Archiver(self.names.tenant, self.names.bucket, self.clients.s3)
        records = self._kinesis_records(info)
        if records:
            archiver.archive(records)
            return Outcome(len(records), False, False)
        last = _instant(info.get("approximateArrivalOfLastRecord"))
        until = _stamp(last + CLOCK_SKEW) if last else None
        envelopes = [e for e in self._envelopes() if until is None or e.occurred_at <= until]
        if not envelopes:
            return Outcome(0, True, False)
        archiver.archive(_as_kinesis_batch(envelopes, info))
        return Outcome(len(envelopes), True, False)

    def _publisher(self, info: dict) -> Outcome:
        publisher = StreamPublisher(self.names.stream, self.clients.kinesis)
        records = self._ddb_records(info)
        from_store = not records
        if from_store:
            records = self._event_items_as_stream_records(info)
        if not records:
            return Outcome(0, from_store, False)
        outcome = publisher.publish(records)
        return Outcome(outcome.sent, from_store, outcome.first_failed_sequence is not None)

    # -- reading the batch back ---------------------------------------------------------------

    def _kinesis_records(self, info: dict) -> list[dict]:
        try:
            stream = info["streamArn"].split("/", 1)[1]
            return KinesisPump(self.clients.kinesis, stream).read_range(
                info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"])
        except (ClientError, KeyError, IndexError):   # trimmed (past retention), gone, or no batch info
            return []

    def _ddb_records(self, info: dict) -> list[dict]:
        try:
            records = DynamoDBStreamPump(self.clients.streams, info["streamArn"]).read_range(
                info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"])
        except (ClientError, KeyError):
            return []
        return [r for r in records if is_event_insert(r)]

    # -- the event store fallback -------------------------------------------------------------

    def _aggregate_ids(self) -> list[str]:
        if self._ids is None:
            self._ids = aggregate_ids(self.clients.dynamodb, self.names.events_table)
        return self._ids

    def _envelopes(self) -> list[EventEnvelope]:
        """Every event of the store, aggregate by aggregate in version order."""
        if self._history is None:
            store = self.runtime.store
            self._history = [s.envelope for aid in self._aggregate_ids() for s in store.read(aid)]
        return self._history

    def _event_items_as_stream_records(self, info: dict) -> list[dict]:
        """Events that can have been in the batch, as DynamoDB Streams INSERT records of their
        items, so `StreamPublisher` handles them exactly as it handles the stream."""
        first, last = _instant(info.get("approximateArrivalOfFirstRecord")), _instant(info.get("approximateArrivalOfLastRecord"))
        low = _stamp(first - COMMAND_LOOKBACK) if first else None
        high = _stamp(last + CLOCK_SKEW) if last else None
        window = [e for e in self._envelopes()
                  if (low is None or e.occurred_at >= low) and (high is None or e.occurred_at <= high)]
        return [{"eventName": "INSERT", "dynamodb": {"NewImage": items.encode(e), "SequenceNumber": str(n)}}
                for n, e in enumerate(window, start=1)]


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(normalize_instant(text), OCCURRED_AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _stamp(instant: datetime) -> str:
    return instant.strftime(OCCURRED_AT_FORMAT)


def _as_kinesis_batch(envelopes: list[EventEnvelope], info: dict) -> list[dict]:
    """Envelopes as the Kinesis records of the failed batch: the first and last carry its sequence
    numbers and arrival time, so `Archiver.archive` writes under the key the batch would have had."""
    shard = info.get("shardId", "shardId-unknown")
    first = _instant(info.get("approximateArrivalOfFirstRecord")) or datetime.now(UTC)
    start, end = info.get("startSequenceNumber", "0"), info.get("endSequenceNumber", "0")
    records = []
    for n, envelope in enumerate(envelopes):
        sequence = end if n == len(envelopes) - 1 else start
        records.append({
            "kinesis": {"partitionKey": envelope.aggregate_id, "sequenceNumber": sequence,
                        "data": base64.b64encode(envelope.to_json().encode()).decode(),
                        "approximateArrivalTimestamp": first.timestamp()},
            "eventID": f"{shard}:{sequence}",
        })
    return records
