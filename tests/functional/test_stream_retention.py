"""Stream retention (tenantry.local.retention): shards keep what a mapping or a redrive still needs."""

from __future__ import annotations

import base64
import json

import pytest

from lambdas.eventstore import keys
from tenantry.local.applier import apply
from tenantry.local.lambda_runtime import LambdaRuntime
from tenantry.local.pollers import Pollers
from tenantry.local.retention import TRIM_EVERY
from tenantry.ops.resources import DynamoDBStreamPump
from tests.functional.local_support import declared as d
from tests.functional.local_support import sink
from tests.functional.local_support.fixtures import emulator  # noqa: F401

pytestmark = pytest.mark.functional

RECORDS = 3 * TRIM_EVERY + 50


def _pollers(emulator, resources):
    tenant = apply(resources, emulator)
    return tenant, Pollers(tenant, LambdaRuntime(tenant, emulator), emulator, retry_backoff=0.01).start()


def _put_kinesis(emulator, numbers):
    entries = [{"PartitionKey": "acct-1", "Data": json.dumps({"n": n}).encode()} for n in numbers]
    return [r["SequenceNumber"] for r in emulator.client("kinesis").put_records(
        StreamName="acme-events", Records=entries)["Records"]]


def _read_kinesis_from_trim_horizon(emulator):
    kinesis = emulator.client("kinesis")
    iterator = kinesis.get_shard_iterator(StreamName="acme-events", ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [int(r["SequenceNumber"]) for r in kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]]


def test_kinesis_records_every_mapping_handled_are_trimmed(emulator):
    # GIVEN two mappings reading one Kinesis shard (as the projector and the archiver do)
    stream = d.stream("acme")
    first, second = (d.function("acme", name, d.CONSUMER, FAILURE_MODE="partial") for name in ("one", "two"))
    _, pollers = _pollers(emulator, [stream, first, second, d.mapping(stream, first), d.mapping(stream, second)])

    # WHEN many records are written, in batches, and both mappings handled them all
    with pollers:
        sequences = [s for start in range(0, RECORDS, 50) for s in _put_kinesis(emulator, range(start, start + 50))]
        pollers.drain()
        kept = _read_kinesis_from_trim_horizon(emulator)
        # AND one more is written afterwards
        (later,) = _put_kinesis(emulator, [RECORDS])
        pollers.drain()

    # THEN the shard kept at most the records since its last trim, the newest of them
    assert 0 < len(kept) <= TRIM_EVERY
    assert kept == [int(s) for s in sequences[-len(kept):]]
    # AND sequence numbers went on growing past the trimmed ones
    assert int(later) > int(sequences[-1])


def test_a_shard_trimmed_to_its_end_numbers_new_records_after_the_old(emulator):
    # GIVEN one mapping that has handled every record of a shard, trimmed as far as it allows
    stream, consumer = d.stream("acme"), d.function("acme", "one", d.CONSUMER, FAILURE_MODE="partial")
    _, pollers = _pollers(emulator, [stream, consumer, d.mapping(stream, consumer)])
    with pollers:
        handled = _put_kinesis(emulator, range(TRIM_EVERY))
        pollers.drain()
        # WHEN records are written after that
        later = _put_kinesis(emulator, [TRIM_EVERY, TRIM_EVERY + 1])
        pollers.drain()

    # THEN they are numbered after the trimmed ones (moto starts again at 1 in an empty shard,
    # which the mapping, past the old numbers, would never read) and were delivered
    assert int(later[0]) > int(handled[-1])
    delivered = [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"]
                 for batch in sink.batches["acme-one"] for r in batch]
    assert delivered[-2:] == [TRIM_EVERY, TRIM_EVERY + 1]


def _event_item(version, **extra):
    item = {keys.PARTITION_KEY: {"S": "acct-1"}, keys.SORT_KEY: {"N": str(version)}, keys.KIND: {"S": keys.KIND_EVENT}}
    return item | {name: {"S": value} for name, value in extra.items()}


def test_a_failed_batch_stays_readable_for_redrive_while_the_rest_is_trimmed(emulator):
    # GIVEN a DynamoDB stream mapping with an on-failure queue and a record it always fails on
    events, dlq = d.events_table("acme"), d.queue("acme")
    consumer = d.function("acme", "publisher", d.CONSUMER, FAILURE_MODE="partial")
    tenant, pollers = _pollers(emulator, [events, dlq, consumer, d.mapping(
        events, consumer, dlq, source_output="streamArn", batchSize=1, maximumRetryAttempts=0)])
    ddb = emulator.client("dynamodb")

    # WHEN the poison record is followed by many healthy ones, all handled
    with pollers:
        ddb.put_item(TableName="acme-events", Item=_event_item(1, poison="always"))
        for version in range(2, RECORDS):
            ddb.put_item(TableName="acme-events", Item=_event_item(version))
        pollers.drain()

    # THEN the on-failure record still points at a record the stream returns (what redrive reads)
    sqs = emulator.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=tenant.queues["acme-dlq"].url)["Messages"]
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    stream_arn = ddb.describe_table(TableName="acme-events")["Table"]["LatestStreamArn"]
    pump = DynamoDBStreamPump(emulator.client("dynamodbstreams"), stream_arn)
    (parked,) = pump.read_range(info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"])
    assert parked["dynamodb"]["NewImage"]["poison"] == {"S": "always"}
    # AND a reader from TRIM_HORIZON sees it and the untrimmed tail, not the trimmed history
    seen = [record["dynamodb"]["Keys"][keys.SORT_KEY]["N"] for batch in pump.batches(1000) for record in batch]
    assert seen[0] == "1" and 1 < len(seen) <= TRIM_EVERY + 1
    assert seen[1:] == [str(v) for v in range(RECORDS - len(seen) + 1, RECORDS)]
