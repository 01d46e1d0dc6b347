"""Event source mappings: DynamoDB Streams and Kinesis pollers honour what is declared."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest

from lambdas.eventstore import keys
from tenantry.local.applier import apply
from tenantry.local.lambda_runtime import LambdaRuntime
from tenantry.local.pollers import Pollers
from tests.functional.local_support import declared as d
from tests.functional.local_support import sink
from tests.functional.local_support.fixtures import emulator  # noqa: F401

pytestmark = pytest.mark.functional

EVENT_ITEMS_ONLY = {"dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}}


def _start(emulator, resources, **pollers_settings):
    tenant = apply(resources, emulator)
    runtime = LambdaRuntime(tenant, emulator)
    return tenant, Pollers(tenant, runtime, emulator, retry_backoff=0.01, **pollers_settings).start()


def _kinesis_setup(emulator, *, shards=1, mode="partial", pollers_settings=None, **mapping_settings):
    stream, dlq = d.stream("acme", shards=shards), d.queue("acme")
    consumer = d.function("acme", "consumer", d.CONSUMER, FAILURE_MODE=mode)
    return _start(emulator, [stream, dlq, consumer, d.mapping(stream, consumer, dlq, **mapping_settings)],
                  **(pollers_settings or {}))


def _put(emulator, *bodies, key="acct-1"):
    # One PutRecords call, so a poller sees all of these records or none of them.
    entries = [{"PartitionKey": body.get("key", key), "Data": json.dumps(body).encode()} for body in bodies]
    result = emulator.client("kinesis").put_records(StreamName="acme-events", Records=entries)
    return [r["SequenceNumber"] for r in result["Records"]]


def _delivered(function="acme-consumer"):
    return [[json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in batch] for batch in sink.batches[function]]


def _dlq_messages(emulator, tenant):
    sqs = emulator.client("sqs")
    messages = sqs.receive_message(QueueUrl=tenant.queues["acme-dlq"].url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_dynamodb_stream_delivers_only_records_matching_the_filter(emulator):
    # GIVEN the publisher mapping filtered on event items
    events, publisher = d.events_table("acme"), d.function("acme", "publisher", d.CONSUMER)
    _, pollers = _start(emulator, [events, publisher,
                                   d.mapping(events, publisher, source_output="streamArn", patterns=(EVENT_ITEMS_ONLY,))])
    ddb = emulator.client("dynamodb")

    # WHEN an event item and a non-event item are written
    with pollers:
        ddb.put_item(TableName="acme-events", Item={keys.PARTITION_KEY: {"S": "acct-1"}, keys.SORT_KEY: {"N": "1"},
                                                    keys.KIND: {"S": keys.KIND_EVENT}})
        ddb.put_item(TableName="acme-events", Item={keys.PARTITION_KEY: {"S": "acct-1"}, keys.SORT_KEY: {"N": "0"},
                                                    keys.KIND: {"S": "marker"}})
        pollers.drain()

    # THEN only the event item reached the function, shaped as Lambda delivers it
    (record,) = [r for batch in sink.batches["acme-publisher"] for r in batch]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == d.REGION
    assert record["dynamodb"]["Keys"] == {keys.PARTITION_KEY: {"S": "acct-1"}, keys.SORT_KEY: {"N": "1"}}
    assert record["dynamodb"]["NewImage"][keys.KIND] == {"S": keys.KIND_EVENT}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["SequenceNumber"]
    assert record["eventSourceARN"] == emulator.client("dynamodb").describe_table(
        TableName="acme-events")["Table"]["LatestStreamArn"]


def test_kinesis_records_keep_their_order_per_partition_key(emulator):
    # GIVEN a four-shard stream and records for several accounts, interleaved
    _, pollers = _kinesis_setup(emulator, shards=4, batchSize=3)
    bodies = [{"key": f"acct-{i % 5}", "n": i} for i in range(40)]

    # WHEN they are consumed
    with pollers:
        _put(emulator, *bodies)
        pollers.drain()

    # THEN every record arrived once, in order within each account
    received = [r for batch in sink.batches["acme-consumer"] for r in batch]
    assert all(len(batch) <= 3 for batch in sink.batches["acme-consumer"])
    seen = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in received]
    assert sorted(b["n"] for b in seen) == list(range(40))
    for account in {b["key"] for b in bodies}:
        numbers = [b["n"] for b in seen if b["key"] == account]
        assert numbers == sorted(numbers)
    # AND the records are Lambda-shaped
    first = received[0]
    assert first["eventSource"] == "aws:kinesis"
    assert first["eventID"].endswith(first["kinesis"]["sequenceNumber"])
    assert first["kinesis"]["partitionKey"].startswith("acct-")


def test_kinesis_filter_criteria_match_on_the_json_data(emulator):
    # GIVEN a mapping that only wants deposits of at least 100
    pattern = {"data": {"type": [{"prefix": "Deposit"}], "amount": [{"numeric": [">=", 100]}]}}
    _, pollers = _kinesis_setup(emulator, patterns=(pattern,))

    # WHEN several records are written
    with pollers:
        _put(emulator, {"n": 1, "type": "Deposited", "amount": 150}, {"n": 2, "type": "Deposited", "amount": 5},
             {"n": 3, "type": "Withdrawn", "amount": 500}, {"n": 4, "type": "DepositedLate", "amount": 100})
        pollers.drain()

    # THEN only the matching ones were delivered
    assert [n for batch in _delivered() for n in batch] == [1, 4]


def test_a_partial_batch_failure_retries_from_the_failed_record(emulator):
    # GIVEN a consumer that fails once on the third record of a batch
    _, pollers = _kinesis_setup(emulator, mode="partial", batchSize=5)

    # WHEN a batch of five is consumed
    with pollers:
        _put(emulator, {"n": 1}, {"n": 2}, {"n": 3, "poison": 1}, {"n": 4}, {"n": 5})
        pollers.drain()

    # THEN the records before it were committed and the retry started at it
    assert _delivered() == [[1, 2, 3, 4, 5], [3, 4, 5]]


def test_bisect_on_error_isolates_the_failing_record(emulator):
    # GIVEN a consumer that raises on one record until retries are exhausted, with bisect enabled
    tenant, pollers = _kinesis_setup(emulator, mode="raise", batchSize=4, bisectBatchOnFunctionError=True,
                                     maximumRetryAttempts=1)

    # WHEN a batch of four containing it is consumed
    with pollers:
        _put(emulator, {"n": 1}, {"n": 2}, {"n": 3, "poison": "always"}, {"n": 4})
        pollers.drain()

    # THEN the batch was split down to the poison record, retried, and the rest got through
    assert _delivered() == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [4]]
    (failure,) = _dlq_messages(emulator, tenant)
    assert failure["KinesisBatchInfo"]["batchSize"] == 1


def test_with_bisect_a_partial_response_is_cut_at_the_named_record_not_halved(emulator):
    # GIVEN a consumer that always reports the third record, bisect on, one retry
    tenant, pollers = _kinesis_setup(emulator, mode="partial", batchSize=5, bisectBatchOnFunctionError=True,
                                     maximumRetryAttempts=1)

    # WHEN a batch of five is consumed
    with pollers:
        sequences = _put(emulator, {"n": 1}, {"n": 2}, {"n": 3, "poison": "always"}, {"n": 4}, {"n": 5})
        pollers.drain()

    # THEN, as AWS documents it, the batch was cut at the named record and only the rest retried,
    # whole: the records behind the poison were parked with it
    assert _delivered() == [[1, 2, 3, 4, 5], [3, 4, 5]]
    (failure,) = _dlq_messages(emulator, tenant)
    info = failure["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (sequences[2], sequences[4], 3)
    assert "functionError" not in failure["responseContext"]


def test_failing_the_invocation_when_a_poison_heads_its_batch_parks_it_alone(emulator):
    # GIVEN a consumer that reports a poison record, but raises when it heads a batch of several
    tenant, pollers = _kinesis_setup(emulator, mode="isolate", batchSize=5, bisectBatchOnFunctionError=True,
                                     maximumRetryAttempts=1)

    # WHEN a batch of five with a poison record in the middle is consumed
    with pollers:
        sequences = _put(emulator, {"n": 1}, {"n": 2}, {"n": 3, "poison": "always"}, {"n": 4}, {"n": 5})
        pollers.drain()

    # THEN the checkpoint moved to it, the bisected retries isolated it, and the rest got through
    assert _delivered() == [[1, 2, 3, 4, 5], [3, 4, 5], [3], [3], [4, 5]]
    (failure,) = _dlq_messages(emulator, tenant)
    info = failure["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (sequences[2], sequences[2], 1)


def test_exhausted_retries_send_the_lambda_on_failure_record_and_move_on(emulator):
    # GIVEN a consumer that always fails on one record, two retries, an on-failure queue
    tenant, pollers = _kinesis_setup(emulator, mode="partial", batchSize=10, maximumRetryAttempts=2)

    # WHEN the stream holds the poison record followed by a good one, then one more
    with pollers:
        poison_seq, good_seq = _put(emulator, {"n": 1, "poison": "always"}, {"n": 2})
        pollers.drain()
        _put(emulator, {"n": 3})
        pollers.drain()

    # THEN the batch was tried once plus two retries, then skipped, and the shard moved on
    assert _delivered() == [[1, 2], [1, 2], [1, 2], [3]]
    # AND the on-failure queue got Lambda's record for the failed batch
    (failure,) = _dlq_messages(emulator, tenant)
    assert failure["version"] == "1.0"
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"] == tenant.functions["acme-consumer"].arn
    assert failure["responseContext"]["statusCode"] == 200
    info = failure["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (poison_seq, good_seq, 2)
    assert info["streamArn"] == tenant.streams["acme-events"].arn
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert failure["timestamp"].endswith("Z")


def _subscribed(emulator, *keys):
    events = {key: threading.Event() for key in keys}
    for key, event in events.items():
        emulator.stream_writes.subscribe(key, event)
    return events


def _event_item(version):
    return {keys.PARTITION_KEY: {"S": "acct-1"}, keys.SORT_KEY: {"N": str(version)}, keys.KIND: {"S": keys.KIND_EVENT}}


def test_a_write_through_the_emulator_signals_the_table_it_wrote_to(emulator):
    # GIVEN two tables with streams, each watched
    apply([d.events_table("acme"), d.events_table("globex")], emulator)
    ddb = emulator.client("dynamodb")
    acme, globex = ("dynamodb", "acme-events"), ("dynamodb", "globex-events")

    for write in (
        lambda: ddb.put_item(TableName="acme-events", Item=_event_item(1)),
        lambda: ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "acme-events", "Item": _event_item(2)}}]),
        lambda: ddb.batch_write_item(RequestItems={"acme-events": [{"PutRequest": {"Item": _event_item(3)}}]}),
    ):
        events = _subscribed(emulator, acme, globex)
        # WHEN one of them is written to
        write()
        # THEN its watchers were signalled before the response came back, the other's were not
        assert events[acme].is_set()
        assert not events[globex].is_set()


def test_a_failed_conditional_write_signals_nothing(emulator):
    # GIVEN a watched table holding an item
    apply([d.events_table("acme")], emulator)
    ddb = emulator.client("dynamodb")
    ddb.put_item(TableName="acme-events", Item=_event_item(1))
    events = _subscribed(emulator, ("dynamodb", "acme-events"))

    # WHEN a conditional write on it fails
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="acme-events", Item=_event_item(1), ConditionExpression="attribute_not_exists(#pk)",
                     ExpressionAttributeNames={"#pk": keys.PARTITION_KEY})

    # THEN no poller is woken
    assert not events[("dynamodb", "acme-events")].is_set()


def test_a_kinesis_put_signals_only_the_shards_it_wrote_to(emulator):
    # GIVEN a four-shard stream, every shard watched
    apply([d.stream("acme", shards=4)], emulator)
    kinesis = emulator.client("kinesis")
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName="acme-events")["Shards"]]
    events = _subscribed(emulator, *[("kinesis", "acme-events", shard) for shard in shards])

    # WHEN one record is put
    written = kinesis.put_record(StreamName="acme-events", PartitionKey="acct-1", Data=b"{}")["ShardId"]

    # THEN only its shard's watchers were signalled
    assert [shard for shard in shards if events["kinesis", "acme-events", shard].is_set()] == [written]


def test_records_are_delivered_on_write_not_at_the_next_idle_poll(emulator):
    # GIVEN pollers whose idle safety-net read is an hour away
    _, pollers = _kinesis_setup(emulator, pollers_settings={"idle_interval": 3600})

    # WHEN records are put while every shard worker sleeps
    with pollers:
        _put(emulator, {"n": 1}, {"n": 2})
        deadline = time.monotonic() + 60   # liveness only: without a wake-up this takes an hour
        while not sink.batches["acme-consumer"] and time.monotonic() < deadline:
            time.sleep(0.01)

    # THEN they were delivered anyway
    assert _delivered() == [[1, 2]]


def test_a_batching_window_holds_records_until_the_batch_is_full(emulator):
    # GIVEN a mapping that batches two records or waits five minutes for them
    _, pollers = _kinesis_setup(emulator, batchSize=2, maximumBatchingWindowInSeconds=300)

    # WHEN two records arrive in separate puts
    with pollers:
        _put(emulator, {"n": 1})
        _put(emulator, {"n": 2})
        pollers.drain()

    # THEN they were delivered together, as soon as the batch was full
    assert _delivered() == [[1, 2]]
