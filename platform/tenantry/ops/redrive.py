"""Redrive the on-failure queue of a stream consumer.

Each message is a Lambda on-failure record: it names a batch, not its records
(`KinesisBatchInfo` or `DDBStreamBatchInfo`: stream ARN, shard id, first and last sequence
number). The redrive turns it back into events:
- while the stream still retains the batch, by reading the shard AT_SEQUENCE_NUMBER up to the
  last sequence number;
- otherwise (or if a record is unreadable) from the event store: every aggregate is caught up to
  the head of its history, which the version guard makes safe and idempotent.
The events then go through the projector's code (`projector.project_records` / the projection
runtime). A DynamoDB Streams batch (the publisher failed) is also re-sent to Kinesis, so the
archive gets it. A message is deleted only after its batch was reprocessed without failure.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from botocore.exceptions import ClientError

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.projections import ACCOUNTS
from lambdas.eventstore import items
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.errors import CorruptEventError
from lambdas.eventstore.projection import BatchOutcome, ProjectionRuntime, Publisher
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from lambdas.handlers.projector import project_records
from lambdas.handlers.publisher import StreamPublisher, is_event_insert

from .replay import aggregate_ids
from .resources import Clients, KinesisPump, PipelineNames


@dataclass
class RedriveResult:
    messages: int = 0
    redriven: int = 0                  # deleted after success
    events: int = 0
    from_event_store: int = 0          # messages whose batch had left the stream
    kept: list[str] = field(default_factory=list)   # message ids left in the queue (still failing)


class Redriver:
    def __init__(self, clients: Clients, names: PipelineNames, publisher: Publisher | None = None) -> None:
        self.clients, self.names = clients, names
        self.store = DynamoDBEventStore(names.events_table, clients.dynamodb, tenant_id=names.tenant)
        read_model = DynamoDBReadModel(names.accounts_table, names.ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY,
                                       client=clients.dynamodb)
        self.runtime = ProjectionRuntime(ACCOUNTS, read_model, self.store, publisher)

    def run(self, queue: str, *, max_messages: int = 1000, progress: TextIO | None = sys.stderr) -> RedriveResult:
        sqs, result = self.clients.sqs, RedriveResult()
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        while result.messages < max_messages:
            page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300)
            messages = page.get("Messages", [])
            if not messages:
                break
            for message in messages:
                result.messages += 1
                outcome = self.redrive(json.loads(message["Body"]), result)
                if outcome.failed:
                    result.kept.append(message["MessageId"])
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    result.redriven += 1
                if progress:
                    progress.write(f"redrive {queue}: {result.redriven}/{result.messages} messages\n")
        return result

    def redrive(self, failure: dict, result: RedriveResult) -> BatchOutcome:
        if "KinesisBatchInfo" in failure:
            records = self._kinesis_records(failure["KinesisBatchInfo"])
            if records:
                outcome = project_records(self.runtime, records)
                result.events += outcome.stats.events_in
                return outcome
        elif "DDBStreamBatchInfo" in failure:
            records = self._ddb_records(failure["DDBStreamBatchInfo"])
            try:
                envelopes = [items.decode(r["dynamodb"]["NewImage"]).envelope for r in records]
            except CorruptEventError:
                envelopes = []
            if envelopes:
                StreamPublisher(self.names.stream, self.clients.kinesis).publish(records)
                result.events += len(envelopes)
                return self.runtime.project(envelopes)
        result.from_event_store += 1
        return self.runtime.catch_up(aggregate_ids(self.clients.dynamodb, self.names.events_table))

    def _kinesis_records(self, info: dict) -> list[dict]:
        stream = info["streamArn"].split("/", 1)[1]
        try:
            return KinesisPump(self.clients.kinesis, stream).read_range(
                info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"])
        except ClientError:            # trimmed (past retention) or gone: fall back to the event store
            return []

    def _ddb_records(self, info: dict) -> list[dict]:
        streams, arn, out = self.clients.streams, info["streamArn"], []
        try:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=info["shardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                                                  SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in page["Records"]:
                    if int(record["dynamodb"]["SequenceNumber"]) > int(info["endSequenceNumber"]):
                        return out
                    if is_event_insert(record):
                        out.append(record)
                if not page["Records"]:
                    return out
                iterator = page.get("NextShardIterator")
        except ClientError:
            return []
        return out


def on_failure_record(batch_info_key: str, info: dict[str, Any]) -> dict:
    """The message Lambda sends to an on-failure destination (shape used by tests and docs)."""
    return {
        "requestContext": {"requestId": "00000000-0000-0000-0000-000000000000", "condition": "RetryAttemptsExhausted",
                           "approximateInvokeCount": 6},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        batch_info_key: info,
    }
