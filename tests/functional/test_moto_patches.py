"""What the twin fixes in moto (tenantry.local.moto_patches): each test fails on unpatched moto."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.eventstore import keys as k
from tenantry.local import moto_patches
from tests.aws import REGION, create_events_table

pytestmark = pytest.mark.functional


@pytest.fixture(autouse=True)
def patched():
    moto_patches.apply()


def _streams():
    # moto's in-process mock routes DynamoDB Streams only with a "/" path (see ops.resources.Clients)
    return boto3.client("dynamodbstreams", region_name=REGION,
                        endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com/")


def _stream_records(streams, arn: str, iterator: str) -> tuple[list, str]:
    page = streams.get_records(ShardIterator=iterator)
    return page["Records"], page["NextShardIterator"]


def test_a_cancelled_transaction_leaves_stream_readers_reading_and_writes_nothing(dynamodb):
    # GIVEN an events table with a stream, a reader at its head, and one event of account a
    table = create_events_table(dynamodb)
    streams = _streams()
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    item = {k.PARTITION_KEY: {"S": "a"}, k.SORT_KEY: {"N": "1"}}
    dynamodb.put_item(TableName=table, Item=item)
    records, iterator = _stream_records(streams, arn, iterator)
    assert len(records) == 1
    # WHEN a transfer-like transaction is cancelled: b's put is fine, a's version already exists
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {k.PARTITION_KEY: {"S": "b"}, k.SORT_KEY: {"N": "1"}},
                     "ConditionExpression": f"attribute_not_exists({k.PARTITION_KEY})"}},
            {"Put": {"TableName": table, "Item": item, "ConditionExpression": f"attribute_not_exists({k.PARTITION_KEY})"}},
        ])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    # THEN nothing of it is in the table or on the stream
    assert "Item" not in dynamodb.get_item(TableName=table, Key={k.PARTITION_KEY: {"S": "b"}, k.SORT_KEY: {"N": "1"}})
    assert _stream_records(streams, arn, iterator)[0] == []
    # AND the reader still sees what is written next (unpatched moto swapped the table: it never did)
    dynamodb.put_item(TableName=table, Item={k.PARTITION_KEY: {"S": "c"}, k.SORT_KEY: {"N": "1"}})
    records, _ = _stream_records(streams, arn, iterator)
    assert [r["dynamodb"]["Keys"][k.PARTITION_KEY]["S"] for r in records] == ["c"]


def test_stream_iterators_do_not_pile_up(dynamodb, monkeypatch):
    # GIVEN a cap of 50 live iterators
    monkeypatch.setattr(moto_patches, "MAX_LIVE_ITERATORS", 50)
    table = create_events_table(dynamodb)
    streams = _streams()
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    # WHEN a reader polls an idle stream 500 times
    for _ in range(500):
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    # THEN the backend holds at most the cap
    from moto.dynamodbstreams.models import dynamodbstreams_backends
    backend = dynamodbstreams_backends["123456789012"][REGION]
    assert len(backend.shard_iterators) <= 50


def test_kinesis_reads_start_where_the_iterator_points(moto):
    # GIVEN a shard with 300 records
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    sequence = [kinesis.put_record(StreamName="s", Data=str(i).encode(), PartitionKey="p")["SequenceNumber"]
                for i in range(300)]
    # WHEN reading 10 after the 200th, then on from there
    iterator = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                          ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                          StartingSequenceNumber=sequence[199])["ShardIterator"]
    first = kinesis.get_records(ShardIterator=iterator, Limit=10)
    kinesis.put_record(StreamName="s", Data=b"300", PartitionKey="p")
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=1000)
    # THEN exactly those records, in order, including one added between the reads
    assert [r["Data"] for r in first["Records"]] == [str(i).encode() for i in range(200, 210)]
    assert [r["Data"] for r in rest["Records"]] == [str(i).encode() for i in range(210, 301)]


def test_kinesis_puts_leave_no_metric_datapoints_behind(moto):
    # GIVEN a stream
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName="m", ShardCount=1)
    # WHEN records are put, one by one and in a batch
    kinesis.put_record(StreamName="m", Data=b"1", PartitionKey="p")
    kinesis.put_records(StreamName="m", Records=[{"Data": b"2", "PartitionKey": "p"}])
    # THEN moto's CloudWatch holds no datapoint for them (unpatched: IncomingBytes, IncomingRecords)
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    assert list(cloudwatch_backends[DEFAULT_ACCOUNT_ID][REGION].get_all_metrics()) == []


def test_what_a_query_reads_is_not_kept_alive(dynamodb):
    # GIVEN a table of 20 items
    import gc

    from moto.dynamodb.models.dynamo_type import Item
    table = create_events_table(dynamodb)
    for version in range(1, 21):
        dynamodb.put_item(TableName=table, Item={k.PARTITION_KEY: {"S": "a"}, k.SORT_KEY: {"N": str(version)}})

    def items_alive() -> int:
        gc.collect()
        return sum(isinstance(o, Item) for o in gc.get_objects())

    before = items_alive()
    # WHEN it is queried 50 times (moto copies every item it reads)
    for _ in range(50):
        dynamodb.query(TableName=table, KeyConditionExpression=f"{k.PARTITION_KEY} = :a",
                       ExpressionAttributeValues={":a": {"S": "a"}}, ScanIndexForward=False, Limit=10)
    # THEN no copy outlives its request (unpatched moto kept all 1,000)
    assert items_alive() == before


def test_a_query_on_the_table_key_reads_its_partition_only(dynamodb, monkeypatch):
    # GIVEN an events table with two accounts
    from moto.dynamodb.models.table import Table
    table = create_events_table(dynamodb)
    for aggregate in ("a", "b"):
        for version in range(1, 6):
            dynamodb.put_item(TableName=table, Item={k.PARTITION_KEY: {"S": aggregate}, k.SORT_KEY: {"N": str(version)}})
    # WHEN one account's newest events are queried (whole-table listing made to fail)
    monkeypatch.setattr(Table, "all_items", lambda self: pytest.fail("scanned the whole table"))
    page = dynamodb.query(TableName=table, KeyConditionExpression=f"{k.PARTITION_KEY} = :a AND {k.SORT_KEY} > :v",
                          ExpressionAttributeValues={":a": {"S": "b"}, ":v": {"N": "1"}},
                          ScanIndexForward=False, Limit=3)
    # THEN the answer is the same as moto's: that partition, newest first, limited
    assert [int(i[k.SORT_KEY]["N"]) for i in page["Items"]] == [5, 4, 3]
    assert page["LastEvaluatedKey"] == {k.PARTITION_KEY: {"S": "b"}, k.SORT_KEY: {"N": "3"}}
