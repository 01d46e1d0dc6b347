"""Event source mappings, emulated: one background thread per (mapping, shard).

Each shard worker reads its shard through the emulator's API (Kinesis GetRecords, DynamoDB Streams
GetRecords), turns records into what Lambda delivers, drops the ones no filter pattern matches,
and invokes the function in batches (batch size, batching window), in shard order. Records of one
shard are never processed concurrently (a parallelization factor above 1 is honoured as 1, which
keeps the per-partition-key order it promises and is stricter).

Reads are driven by writes: the emulator wakes a worker when a request may have added to its table's
stream or its Kinesis shard (`Emulator.stream_writes`), so a record is read as soon as it exists
and an idle shard costs one safety-net read per `idle_interval` instead of one per 50-100 ms (every
idle read is a request that takes the emulator's lock and the GIL away from real work). A worker
with records buffered inside a batching window also wakes on writes, to fill its batch.

Failures, as Lambda handles them (AWS Lambda developer guide, "Configuring partial batch response
with Kinesis Data Streams and Lambda" and "... with DynamoDB and Lambda", section "Bisecting a batch"):
- the handler raises: with `bisectBatchOnFunctionError` the batch is split in two and each half is
  retried on its own (a split does not use up a retry), "regardless of your
  ReportBatchItemFailures setting"; otherwise the whole batch is retried;
- the handler returns `batchItemFailures` (only with `ReportBatchItemFailures`): the records before
  the earliest failed one are committed and the batch is retried from it; a missing, empty or
  unknown `itemIdentifier` fails the whole batch. With `bisectBatchOnFunctionError` as well this
  is still all that happens: "the batch is bisected at the returned sequence number and Lambda
  retries only the remaining records", a cut at the named record and no halving. So a named
  record that heads its batch is retried with everything behind it; a handler that wants it
  isolated fails the invocation instead (`lambdas.handlers.poison`);
- after `maximumRetryAttempts` retries (-1 = until the record is too old) or once the oldest record
  is older than `maximumRecordAgeInSeconds`, the on-failure record (Lambda's shape, pointers to the
  batch) goes to the declared SQS queue, or the batch is dropped if none is declared, and the shard
  moves on. Retries back off from `retry_backoff` up to one second.

Each worker tells its shard's retention (`tenantry.local.retention`) which records it still needs,
so the emulator can drop the ones every mapping has handled; a batch sent to the on-failure
destination is kept there for `tenantry redrive`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from typing import Any

from tenantry import lambda_records as records
from tenantry.local import activity, filters
from tenantry.local.emulator import Emulator, StreamKey, stream_name, table_name
from tenantry.local.errors import DrainTimeoutError, LocalPlatformError
from tenantry.local.lambda_runtime import LambdaRuntime
from tenantry.local.model import EventSourceMapping, LocalTenant
from tenantry.local.retention import ShardRef, StreamRetention

log = logging.getLogger("tenantry.local.pollers")

_MAX_BACKOFF_S = 1.0


class _Source:
    """A shard source read through the emulator's GetRecords (Kinesis or DynamoDB Streams)."""

    client: Any

    def fetch(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        page = self.client.get_records(ShardIterator=iterator, Limit=limit)
        return page["Records"], page.get("NextShardIterator")


class _KinesisSource(_Source):
    max_limit = 10_000

    def __init__(self, emulator: Emulator, mapping: EventSourceMapping, region: str) -> None:
        self.client = emulator.client("kinesis", region)
        self.mapping, self.region = mapping, region
        self.stream_name = stream_name(mapping.source_arn)

    def shards(self) -> list[str]:
        return [s["ShardId"] for s in self.client.list_shards(StreamName=self.stream_name)["Shards"]]

    def write_key(self, shard_id: str) -> StreamKey:
        return ("kinesis", self.stream_name, shard_id)

    def shard_ref(self, shard_id: str) -> ShardRef:
        return ShardRef("kinesis", self.region, self.stream_name, shard_id)

    def iterator(self, shard_id: str, after: str | None) -> str:
        args: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": shard_id}
        if after is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        elif self.mapping.starting_position == "AT_TIMESTAMP":
            args.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=self.mapping.starting_position_timestamp)
        else:
            args.update(ShardIteratorType=self.mapping.starting_position)
        return self.client.get_shard_iterator(**args)["ShardIterator"]

    def to_lambda(self, raw: dict[str, Any], shard_id: str) -> dict[str, Any]:
        return records.kinesis_record(raw, shard_id=shard_id, stream_arn=self.mapping.source_arn,
                                      region=self.region)


class _DynamoDBSource(_Source):
    max_limit = 1_000

    def __init__(self, emulator: Emulator, mapping: EventSourceMapping, region: str) -> None:
        self.client = emulator.client("dynamodbstreams", region)
        self.mapping, self.region = mapping, region

    def shards(self) -> list[str]:
        description = self.client.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        return [s["ShardId"] for s in description["Shards"]]

    def write_key(self, shard_id: str) -> StreamKey:
        return ("dynamodb", table_name(self.mapping.source_arn))   # one stream per table

    def shard_ref(self, shard_id: str) -> ShardRef:
        return ShardRef("dynamodb", self.region, table_name(self.mapping.source_arn), shard_id)

    def iterator(self, shard_id: str, after: str | None) -> str:
        args: dict[str, Any] = {"StreamArn": self.mapping.source_arn, "ShardId": shard_id}
        if after is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            position = self.mapping.starting_position
            args.update(ShardIteratorType="LATEST" if position == "LATEST" else "TRIM_HORIZON")
        return self.client.get_shard_iterator(**args)["ShardIterator"]

    def to_lambda(self, raw: dict[str, Any], shard_id: str) -> dict[str, Any]:
        return records.dynamodb_record(raw, stream_arn=self.mapping.source_arn, region=self.region)


class _ShardWorker:
    def __init__(self, owner: "Pollers", mapping: EventSourceMapping, source: Any, shard_id: str) -> None:
        self.owner, self.mapping, self.source, self.shard_id = owner, mapping, source, shard_id
        self.name = f"{owner.tenant.tenant}/{mapping.logical_name}/{shard_id}"
        self.idle_polls = 0     # polls that found nothing new, with nothing buffered or in flight
        self.activity = 0       # fetches that returned records, and deliveries
        self.done = False
        self.last_fetched: str | None = None
        self.wake = threading.Event()   # set by a write to this shard, by drain() and by stop()
        self.write_key = source.write_key(shard_id)
        self.retention = owner.retention.reader(source.shard_ref(shard_id))
        self.iterator: str | None = source.iterator(shard_id, None)  # now, so LATEST means "from start()"
        self.thread = threading.Thread(target=self._run, name=f"poller:{self.name}", daemon=True)

    # polling ---------------------------------------------------------------------------------
    def _run(self) -> None:
        writes = self.owner.emulator.stream_writes
        writes.subscribe(self.write_key, self.wake)
        try:
            self._poll()
        finally:
            writes.unsubscribe(self.write_key, self.wake)
            self.retention.close()
            self.done = True

    def _poll(self) -> None:
        stop, m, wake = self.owner.stopping, self.mapping, self.wake
        buffer: list[dict[str, Any]] = []
        first_buffered = 0.0
        while not stop.is_set():
            self._release(buffer)
            wake.clear()    # before the read: a write landing after it wakes the wait below
            try:
                fetched = self._fetch_into(buffer, m.batch_size - len(buffer)) if len(buffer) < m.batch_size else 0
            except Exception as exc:  # the emulator hiccuped or the iterator expired: re-open it
                if stop.is_set():
                    break
                log.warning("poller %s: %s; reopening the shard iterator", self.name, exc)
                stop.wait(_MAX_BACKOFF_S)
                self._reopen()
                continue
            if buffer and not first_buffered:
                first_buffered = time.monotonic()
            closed = self.iterator is None
            waited = time.monotonic() - first_buffered
            if buffer and (len(buffer) >= m.batch_size or closed or waited >= m.batching_window_s):
                batch, buffer[:] = buffer[: m.batch_size], buffer[m.batch_size:]
                first_buffered = time.monotonic() if buffer else 0.0
                self._deliver(batch)
                self.activity += 1
            elif fetched:
                continue    # the shard may hold more: read on without waiting
            elif buffer:
                wake.wait(m.batching_window_s - waited)     # inside the batching window
            elif closed:
                break
            else:
                self.idle_polls += 1
                wake.wait(self.owner.idle_interval)

    def _release(self, buffer: list[dict[str, Any]]) -> None:
        """Tell the shard's retention which records this mapping still needs (none before these)."""
        if buffer:
            self.retention.needs_from(int(records.sequence_number(buffer[0])))
        elif self.last_fetched is not None:
            self.retention.needs_from(int(self.last_fetched) + 1)

    def _fetch_into(self, buffer: list[dict[str, Any]], room: int) -> int:
        if self.iterator is None:
            return 0
        raws, self.iterator = self.source.fetch(self.iterator, min(room, self.source.max_limit))
        for raw in raws:
            record = self.source.to_lambda(raw, self.shard_id)
            self.last_fetched = records.sequence_number(record)
            view = filters.filter_view(record, self.mapping.source_kind)
            if filters.matches_any(self.mapping.filter_patterns, view):
                buffer.append(record)
        if raws:
            self.activity += 1
        return len(raws)

    def _reopen(self) -> None:
        try:
            self.iterator = self.source.iterator(self.shard_id, self.last_fetched)
        except Exception as exc:
            log.warning("poller %s: cannot reopen the shard iterator: %s", self.name, exc)

    # delivery --------------------------------------------------------------------------------
    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        m, stop = self.mapping, self.owner.stopping
        pending = deque([batch])
        failures = 0
        while pending and not stop.is_set():
            piece = pending[0]
            retry_from, function_error = self._invoke(piece)
            if retry_from is None:
                pending.popleft()
                failures = 0
                continue
            if function_error and m.bisect_on_error and len(piece) > 1:
                half = len(piece) // 2
                pending.popleft()
                pending.extendleft([piece[half:], piece[:half]])
                failures = 0
                continue
            piece = pending[0] = piece[retry_from:]
            failures += 1
            condition = self._exhausted(piece, failures)
            if condition:
                self._send_to_failure_destination(piece, condition, failures, function_error)
                pending.popleft()
                failures = 0
                continue
            stop.wait(min(self.owner.retry_backoff * 2 ** (failures - 1), _MAX_BACKOFF_S))

    def _invoke(self, piece: list[dict[str, Any]]) -> tuple[int | None, str | None]:
        """(index to retry from, function error); (None, None) when the whole batch succeeded."""
        started = time.perf_counter()
        outcome = self._invoke_once(piece)
        retry_from = outcome[0]
        failed = 0 if retry_from is None else len(piece) - retry_from
        activity.lambda_batch(self.owner.tenant.tenant, self.mapping.function_name, len(piece), started, failed)
        return outcome

    def _invoke_once(self, piece: list[dict[str, Any]]) -> tuple[int | None, str | None]:
        try:
            result = self.owner.runtime.invoke(self.mapping.function_name, {"Records": piece})
        except LocalPlatformError as exc:
            log.warning("tenant=%s mapping=%s function=%s failed on %d record(s): %s",
                        self.owner.tenant.tenant, self.mapping.logical_name,
                        self.mapping.function_name, len(piece), exc)
            return 0, "Unhandled"
        if not self.mapping.report_batch_item_failures or not isinstance(result, dict):
            return None, None
        failed = result.get("batchItemFailures")
        if not failed:
            return None, None
        ids = [records.sequence_number(r) for r in piece]
        indexes = []
        for item in failed:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not identifier or identifier not in ids:
                return 0, None  # Lambda treats a malformed response as a whole-batch failure
            indexes.append(ids.index(identifier))
        return min(indexes), None

    def _exhausted(self, piece: list[dict[str, Any]], failures: int) -> str | None:
        m = self.mapping
        if m.max_record_age_s >= 0 and time.time() - records.arrival(piece[0]) > m.max_record_age_s:
            return "RecordAgeExceeded"
        if m.max_retry_attempts >= 0 and failures > m.max_retry_attempts:
            return "RetryAttemptsExhausted"
        return None

    def _send_to_failure_destination(self, piece: list[dict[str, Any]], condition: str,
                                     invoke_count: int, function_error: str | None) -> None:
        m = self.mapping
        if m.on_failure_queue_url is None:
            log.warning("poller %s: dropped %d record(s) (%s), no on-failure destination",
                        self.name, len(piece), condition)
            return
        body = records.on_failure_record(
            kind=m.source_kind, batch=piece, shard_id=self.shard_id, stream_arn=m.source_arn,
            function_arn=self.owner.tenant.function(m.function_name).arn, condition=condition,
            invoke_count=invoke_count, function_error=function_error, request_id=str(uuid.uuid4()),
        )
        self.owner.sqs.send_message(QueueUrl=m.on_failure_queue_url, MessageBody=json.dumps(body))
        self.retention.pin(int(records.sequence_number(piece[0])), int(records.sequence_number(piece[-1])))
        log.warning("poller %s: sent %d record(s) to the on-failure queue (%s)", self.name, len(piece), condition)


class Pollers:
    """Runs every enabled event source mapping of one tenant. Use as a context manager."""

    def __init__(
        self,
        tenant: LocalTenant,
        runtime: LambdaRuntime,
        emulator: Emulator,
        *,
        idle_interval: float = 1.0,
        retry_backoff: float = 0.05,
    ) -> None:
        """`idle_interval`: the longest an idle shard goes unread, a safety net for writes the
        emulator did not see (its wake-ups make records visible at once)."""
        self.tenant, self.runtime, self.emulator = tenant, runtime, emulator
        self.idle_interval, self.retry_backoff = idle_interval, retry_backoff
        self.stopping = threading.Event()
        self.sqs = emulator.client("sqs", tenant.region)
        self.retention = StreamRetention(emulator)
        self._workers: list[_ShardWorker] = []

    def start(self) -> "Pollers":
        if self._workers:
            return self
        for mapping in self.tenant.mappings:
            if not mapping.enabled:
                continue
            source_type = _KinesisSource if mapping.source_kind == "kinesis" else _DynamoDBSource
            source = source_type(self.emulator, mapping, self.tenant.region)
            self._workers += [_ShardWorker(self, mapping, source, shard) for shard in source.shards()]
        for worker in self._workers:
            worker.thread.start()
        return self

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every shard has been read to its end and every batch handled, including
        records produced meanwhile by the handlers themselves (DynamoDB -> Kinesis -> ...)."""
        deadline = time.monotonic() + timeout
        while True:
            before = {w: (w.idle_polls, w.activity) for w in self._workers}
            # Two idle polls: the second certainly started after this snapshot. Waking the workers
            # makes them poll now rather than at their idle interval.
            while busy := [w for w in self._workers if not w.done and w.idle_polls < before[w][0] + 2]:
                if time.monotonic() > deadline:
                    raise DrainTimeoutError(timeout, [w.name for w in busy])
                for worker in busy:
                    worker.wake.set()
                time.sleep(0.01)
            if all(w.activity == before[w][1] for w in self._workers):
                return

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        for worker in self._workers:
            worker.wake.set()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> "Pollers":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
