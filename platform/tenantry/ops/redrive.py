"""Redrive the on-failure queue of one stream consumer, through that consumer's own code.

Each message is a Lambda on-failure record: it names a batch, not its records
(`KinesisBatchInfo` or `DDBStreamBatchInfo`: stream ARN, shard id, first and last sequence number,
arrival times). Which code reprocesses it depends on whose queue it is:
- projector (Kinesis): the batch read back from the shard goes through `project_records`, with the
  AppSync publisher when a GraphQL URL is known, so subscribers hear about redriven updates; an
  aggregate that fails there (an undecodable record on the stream, a failed gap fill) is then
  caught up from the event store, the system of record. Past retention: every aggregate is caught
  up to the head of the event store (version-guarded).
- archiver (Kinesis): the batch goes through `Archiver.archive`, which writes the object the
  failed invocation should have written (same key). Past retention: the events that can have been
  in the batch (occurred no later than its last record arrived) are taken from the event store
  and archived as the same lines under the batch's key; replay deduplicates by aggregate + version.
- publisher (DynamoDB Streams): the batch goes to Kinesis again through `StreamPublisher`, and
  the projector and archiver pick it up from there. A stream record keeps the image first written,
  so a record that is poison is replaced by the item the event table holds NOW: a repaired item is
  published, a deleted one is nothing to publish. Past retention: the event items written around
  the batch's arrival window are re-published from the event store (duplicates on Kinesis are
  skipped by the projector and deduplicated by replay).
A message is deleted only after its batch was reprocessed without failure; a message that still
fails is made visible again at the end of the run, so the next run sees it at once. The event store
fallbacks read the aggregate ids (and, for the archiver and publisher, the items) once per run.

What remains is reported, never guessed: messages still failing (and why), messages in flight
(received by someone else and not visible: `ApproximateNumberOfMessagesNotVisible`; `wait` waits
for them), and messages not received (past `max_messages`).
"""

from __future__ import annotations

import base64
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from botocore.exceptions import ClientError

from lambdas.eventstore import items
from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import OCCURRED_AT_FORMAT, EventEnvelope, normalize_instant
from lambdas.eventstore.errors import CorruptEventError
from lambdas.eventstore.projection import BatchOutcome, ProjectionError, Publisher
from lambdas.handlers.archiver import Archiver
from lambdas.handlers.projector import build_runtime, failed_version, project_records
from lambdas.handlers.publisher import StreamPublisher, is_event_insert, publishable

from ..components.naming import CONSUMERS
from .replay import aggregate_ids
from .resources import Clients, DynamoDBStreamPump, KinesisPump, PipelineNames

# An event is written (and reaches DynamoDB Streams) at most one command-Lambda run after it
# occurred: 15 minutes is Lambda's longest timeout. A minute of clock skew on the other side.
COMMAND_LOOKBACK = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=1)
# A received message stays hidden from other consumers this long past the run's own waiting, so
# this run never receives its own still-failing messages twice.
VISIBILITY_MARGIN_S = 300
LONGEST_POLL_S = 20        # SQS's limit on WaitTimeSeconds
VERB = {"publisher": "re-published", "projector": "re-projected", "archiver": "archived"}


class UnknownFunctionError(ValueError):
    def __init__(self, function: str) -> None:
        super().__init__(f"no stream consumer {function!r} (one of {', '.join(CONSUMERS)})")
        self.function = function


@dataclass(frozen=True)
class StillFailing:
    aggregate_id: str
    version: int | None
    reason: str

    def __str__(self) -> str:
        at = "" if self.version is None else f" v{self.version}"
        return f"{self.aggregate_id}{at}: {self.reason}"


@dataclass(frozen=True)
class Outcome:
    """What reprocessing one failure record did."""
    events: int
    aggregates: tuple[str, ...] = ()
    from_event_store: bool = False
    failures: tuple[StillFailing, ...] = ()
    gone: tuple[str, ...] = ()           # publisher: items of the batch the event table no longer has
    held_back: int = 0                   # publisher: not published, behind a still-failing item
    caught_up: tuple[str, ...] = ()      # projector: failed on the stream, caught up from the event store

    @property
    def failed(self) -> bool:
        return bool(self.failures)


@dataclass(frozen=True)
class MessageReport:
    message_id: str
    outcome: Outcome


@dataclass
class RedriveResult:
    queue: str = ""
    messages: int = 0                  # received and reprocessed
    redriven: int = 0                  # deleted after success
    events: int = 0
    from_event_store: int = 0          # messages whose batch had left the stream
    kept: list[str] = field(default_factory=list)   # message ids left in the queue (still failing)
    reports: list[MessageReport] = field(default_factory=list)
    in_flight: int = 0                 # not visible at the end: received by someone else
    not_received: int = 0              # visible at the end besides the kept ones (past max_messages)

    @property
    def aggregates(self) -> int:
        return len({a for r in self.reports for a in r.outcome.aggregates})

    @property
    def done(self) -> bool:
        """Everything visible was redriven and nothing remains."""
        return not self.kept and not self.in_flight and not self.not_received


def describe(report: MessageReport, verb: str) -> str:
    """One line per message: whether (and why) it still fails, and what was reprocessed."""
    o = report.outcome
    status = f"still failing ({'; '.join(map(str, o.failures))})" if o.failed else "redriven"
    names = ", ".join(o.aggregates[:10]) + (", ..." if len(o.aggregates) > 10 else "")
    line = (f"{report.message_id}: {status}: {verb} {_count(o.events, 'event')} of "
            f"{_count(len(o.aggregates), 'aggregate')}" + (f" ({names})" if names else "")
            + (" from the event store" if o.from_event_store else ""))
    if o.caught_up:
        line += f"; caught up from the event store: {', '.join(o.caught_up)}"
    if o.gone:
        line += f"; gone from the event table: {', '.join(o.gone)}"
    if o.held_back:
        line += f"; {_count(o.held_back, 'event')} held back behind a failing item"
    return line


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


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
        self._history: list[dict] | None = None

    def run(self, queue: str, *, max_messages: int = 1000, wait: float = 0.0,
            progress: TextIO | None = sys.stderr) -> RedriveResult:
        """Redrive what the queue holds; with `wait` > 0, also wait up to that many seconds for
        messages in flight to become visible again, and redrive those."""
        sqs, result = self.clients.sqs, RedriveResult(queue=queue)
        self._ids = self._history = None
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        deadline, kept_handles = time.monotonic() + wait, []
        visibility = VISIBILITY_MARGIN_S + int(wait)
        while result.messages < max_messages:
            poll = self._poll_seconds(url, len(kept_handles), deadline)
            page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, max_messages - result.messages),
                                       WaitTimeSeconds=poll, VisibilityTimeout=visibility)
            messages = page.get("Messages", [])
            if not messages and not poll:
                break
            for message in messages:
                report = self._handle(url, message, result)
                if report.outcome.failed:
                    kept_handles.append(message["ReceiptHandle"])
                if progress:
                    progress.write(describe(report, VERB[self.function]) + "\n")
        self._release(url, kept_handles)
        self._count_remaining(url, result)
        return result

    def _poll_seconds(self, url: str, own_hidden: int, deadline: float) -> int:
        """0: just look. Otherwise long-poll while messages we did not receive are in flight."""
        left = deadline - time.monotonic()
        if left <= 0 or self._not_visible(url) <= own_hidden:
            return 0
        return max(1, min(LONGEST_POLL_S, int(left)))

    def _handle(self, url: str, message: dict, result: RedriveResult) -> MessageReport:
        result.messages += 1
        report = MessageReport(message["MessageId"], self.redrive_body(message["Body"]))
        result.reports.append(report)
        result.events += report.outcome.events
        result.from_event_store += report.outcome.from_event_store
        if report.outcome.failed:
            result.kept.append(message["MessageId"])
        else:
            self.clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            result.redriven += 1
        return report

    def _release(self, url: str, handles: list[str]) -> None:
        """Still-failing messages become visible again now, not when their timeout runs out: the
        next run (after the item is repaired, say) must see them."""
        for handle in handles:
            try:
                self.clients.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
            except ClientError:     # the receipt expired: the message is visible again anyway
                pass

    def _count_remaining(self, url: str, result: RedriveResult) -> None:
        attributes = self._attributes(url)
        result.in_flight = attributes["ApproximateNumberOfMessagesNotVisible"]
        result.not_received = max(0, attributes["ApproximateNumberOfMessages"] - len(result.kept))

    def _not_visible(self, url: str) -> int:
        return self._attributes(url)["ApproximateNumberOfMessagesNotVisible"]

    def _attributes(self, url: str) -> dict[str, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return {name: int(attributes.get(name, 0)) for name in names}

    def redrive_body(self, body: str) -> Outcome:
        try:
            failure = json.loads(body)
        except ValueError:
            failure = None
        if not isinstance(failure, dict) or not ({"DDBStreamBatchInfo", "KinesisBatchInfo"} & set(failure)):
            return Outcome(0, failures=(StillFailing("?", None, "not a Lambda on-failure record"),))
        return self.redrive(failure)

    def redrive(self, failure: dict) -> Outcome:
        try:
            if self.function == "publisher":
                return self._publisher(failure.get("DDBStreamBatchInfo") or {})
            info = failure.get("KinesisBatchInfo") or {}
            if self.function == "archiver":
                return self._archiver(info)
            return self._projector(info)
        except ClientError as exc:   # S3 / Kinesis refused the write: the message stays for the next run
            return Outcome(0, failures=(StillFailing("?", None, f"{exc.response['Error']['Code']}: {exc}"),))

    # -- per consumer -------------------------------------------------------------------------

    def _projector(self, info: dict) -> Outcome:
        records = self._kinesis_records(info)
        if not records:
            outcome = self.runtime.catch_up(self._aggregate_ids())
            return Outcome(outcome.stats.events_applied, tuple(sorted(outcome.committed)), True, _still_failing(outcome))
        outcome = project_records(self.runtime, records)
        # The event store, not the stream, is the system of record: an aggregate that failed on
        # the stream (an undecodable record, say) is fine once it catches up from the store.
        retried = self.runtime.catch_up(sorted(outcome.failed)) if outcome.failed else BatchOutcome()
        return Outcome(outcome.stats.events_in, _partition_keys(records), False, _still_failing(retried),
                       caught_up=tuple(sorted(set(outcome.failed) - set(retried.failed))))

    def _archiver(self, info: dict) -> Outcome:
        archiver = Archiver(self.names.tenant, self.names.bucket, self.clients.s3)
        records = self._kinesis_records(info)
        if records:
            archiver.archive(records)
            return Outcome(len(records), _partition_keys(records))
        last = _instant(info.get("approximateArrivalOfLastRecord"))
        until = _stamp(last + CLOCK_SKEW) if last else None
        # Undecodable items never reached Kinesis, so no archiver batch can have held them.
        envelopes = [e for item in self._items()
                     if (e := _envelope(item, self.names.tenant)) and (until is None or e.occurred_at <= until)]
        if not envelopes:
            return Outcome(0, from_event_store=True)
        archiver.archive(_as_kinesis_batch(envelopes, info))
        return Outcome(len(envelopes), tuple(sorted({e.aggregate_id for e in envelopes})), True)

    def _publisher(self, info: dict) -> Outcome:
        records, gone = self._ddb_records(info), []
        from_store = not records
        records = self._event_items_as_stream_records(info) if from_store else self._as_stored_now(records, gone)
        if not records:
            return Outcome(0, from_event_store=from_store, gone=tuple(gone))
        outcome = StreamPublisher(self.names.stream, self.clients.kinesis, tenant_id=self.names.tenant).publish(records)
        failures = tuple(StillFailing(f.aggregate_id, f.version, f.reason) for f in outcome.failed)
        return Outcome(outcome.sent, outcome.aggregates, from_store, failures, tuple(gone), outcome.held_back)

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

    def _as_stored_now(self, records: list[dict], gone: list[str]) -> list[dict]:
        """The batch with each poison image replaced by the item the event table holds now: a
        repair (an item rewritten in place) never reaches the publisher's stream filter, which
        passes inserts only. A deleted item is nothing to publish; it is named in `gone`."""
        current = []
        for record in records:
            change = record["dynamodb"]
            try:
                publishable(change["NewImage"], tenant_id=self.names.tenant)
            except CorruptEventError:
                item = self.clients.dynamodb.get_item(TableName=self.names.events_table, Key=change["Keys"],
                                                      ConsistentRead=True).get("Item")
                if item is None:
                    gone.append(f"{change['Keys'][k.PARTITION_KEY]['S']} v{change['Keys'][k.SORT_KEY]['N']}")
                    continue
                record = {**record, "dynamodb": {**change, "NewImage": item}}
            current.append(record)
        return current

    # -- the event store fallback -------------------------------------------------------------

    def _aggregate_ids(self) -> list[str]:
        if self._ids is None:
            self._ids = aggregate_ids(self.clients.dynamodb, self.names.events_table)
        return self._ids

    def _items(self) -> list[dict]:
        """Every item of the event store, aggregate by aggregate in version order, undecoded: one
        corrupt item must not stop the redrive of batches that may not even hold it."""
        if self._history is None:
            pages = self.clients.dynamodb.get_paginator("query")
            self._history = [item for aid in self._aggregate_ids() for page in pages.paginate(
                TableName=self.names.events_table, KeyConditionExpression="#pk = :a", ConsistentRead=True,
                ExpressionAttributeNames={"#pk": k.PARTITION_KEY}, ExpressionAttributeValues={":a": {"S": aid}},
            ) for item in page.get("Items", [])]
        return self._history

    def _event_items_as_stream_records(self, info: dict) -> list[dict]:
        """Event items that can have been in the batch, as DynamoDB Streams INSERT records, so
        `StreamPublisher` handles them exactly as it handles the stream. An item too corrupt to
        say when it occurred may have been in any batch: it is included (and fails)."""
        first, last = _instant(info.get("approximateArrivalOfFirstRecord")), _instant(info.get("approximateArrivalOfLastRecord"))
        low = _stamp(first - COMMAND_LOOKBACK) if first else None
        high = _stamp(last + CLOCK_SKEW) if last else None
        window = [item for item in self._items() if (e := _envelope(item, self.names.tenant)) is None
                  or ((low is None or e.occurred_at >= low) and (high is None or e.occurred_at <= high))]
        return [{"eventName": "INSERT", "dynamodb": {"NewImage": item, "SequenceNumber": str(n)}}
                for n, item in enumerate(window, start=1)]


def _envelope(item: dict, tenant: str) -> EventEnvelope | None:
    try:
        return items.decode(item, table_tenant=tenant).envelope
    except CorruptEventError:
        return None


def _partition_keys(records: list[dict]) -> tuple[str, ...]:
    return tuple(sorted({r["kinesis"]["partitionKey"] for r in records}))


def _still_failing(outcome: BatchOutcome) -> tuple[StillFailing, ...]:
    return tuple(StillFailing(aid, failed_version(exc), _reason(aid, exc)) for aid, exc in sorted(outcome.failed.items()))


def _reason(aggregate_id: str, exc: Exception) -> str:
    """Why, without the aggregate id the kernel's errors already lead with (StillFailing names it)."""
    if isinstance(exc, CorruptEventError):
        return exc.reason
    text = str(exc)
    if isinstance(exc, ProjectionError):
        return text.removeprefix(f"{aggregate_id}: ")
    return f"{type(exc).__name__}: {text}"


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
