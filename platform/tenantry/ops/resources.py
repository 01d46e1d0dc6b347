"""The pipeline's AWS resources as `tenantry.ops` sees them: names, clients, table creation, and
pumps that turn stream shards into the Lambda events the handlers receive.

Tables are built from the same key constants the code uses (`lambdas.eventstore.keys`,
`lambdas.banking.readmodel_keys`), so a replay target table cannot drift from the live one. The
pumps are how tests, the benchmark and `redrive` read DynamoDB Streams and Kinesis on moto (or on
AWS, with real clients) and shape records exactly like a Lambda event source mapping does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3

from lambdas.banking import readmodel_keys as rk
from lambdas.eventstore import keys as k

from .. import lambda_records
from ..components import naming


@dataclass(frozen=True)
class PipelineNames:
    tenant: str
    events_table: str
    accounts_table: str
    ledger_table: str
    stream: str
    bucket: str

    @classmethod
    def for_tenant(cls, tenant: str, bucket: str = "", slot: str = "blue") -> "PipelineNames":
        """The names the Pulumi program declares; the read models of blue/green slot `slot`. The
        archive bucket is autonamed, so its name is passed in from the declaration (dev.json,
        `pulumi stack output bucket_name`); "" when the caller does not touch the archive."""
        p, rm = naming.physical, naming.read_model_table
        return cls(tenant, p(tenant, "events"), rm(tenant, "accounts", slot), rm(tenant, "ledger", slot),
                   p(tenant, "event-stream"), bucket)

    def with_slot(self, slot: str) -> "PipelineNames":
        return replace(self, accounts_table=naming.read_model_table(self.tenant, "accounts", slot),
                       ledger_table=naming.read_model_table(self.tenant, "ledger", slot))

    def failure_queue(self, function: str) -> str:
        """The on-failure (DLQ) queue of one stream consumer (`naming.CONSUMERS`)."""
        return naming.physical(self.tenant, f"{function}-dlq")


@dataclass(frozen=True)
class Clients:
    dynamodb: Any
    streams: Any
    kinesis: Any
    s3: Any
    sqs: Any

    @classmethod
    def create(cls, endpoint_url: str | None = None, region: str | None = None, **credentials: str) -> "Clients":
        session = boto3.session.Session(region_name=region, **credentials)

        def client(name: str) -> Any:
            return session.client(name, endpoint_url=endpoint_url)

        streams = client("dynamodbstreams")
        if endpoint_url is None:
            # botocore sends DynamoDB Streams requests to the bare host, which moto's in-process
            # mock only routes with a "/" path; the same URL with "/" is what AWS serves anyway.
            streams = session.client("dynamodbstreams", endpoint_url=streams.meta.endpoint_url.rstrip("/") + "/")
        return cls(client("dynamodb"), streams, client("kinesis"), client("s3"), client("sqs"))


def create_event_table(ddb: Any, name: str) -> str:
    """The event table with its NEW_IMAGE stream; returns the stream ARN."""
    table = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": k.PARTITION_KEY, "KeyType": "HASH"}, {"AttributeName": k.SORT_KEY, "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": k.PARTITION_KEY, "AttributeType": k.PARTITION_KEY_TYPE},
                              {"AttributeName": k.SORT_KEY, "AttributeType": k.SORT_KEY_TYPE}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return table["TableDescription"]["LatestStreamArn"]


def create_read_model_tables(ddb: Any, accounts: str, ledger: str) -> None:
    ddb.create_table(
        TableName=accounts, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": rk.ACCOUNTS_PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": rk.ACCOUNTS_PARTITION_KEY, "AttributeType": "S"},
                              {"AttributeName": rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{
            "IndexName": rk.ACCOUNTS_BY_OWNER_INDEX,
            "KeySchema": [{"AttributeName": rk.ACCOUNTS_BY_OWNER_PARTITION_KEY, "KeyType": "HASH"},
                          {"AttributeName": rk.ACCOUNTS_BY_OWNER_SORT_KEY, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    ddb.create_table(
        TableName=ledger, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": rk.LEDGER_PARTITION_KEY, "KeyType": "HASH"},
                   {"AttributeName": rk.LEDGER_SORT_KEY, "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": rk.LEDGER_PARTITION_KEY, "AttributeType": "S"},
                              {"AttributeName": rk.LEDGER_SORT_KEY, "AttributeType": "N"}],
    )


def create_pipeline(clients: Clients, names: PipelineNames, shards: int = 1) -> str:
    """Every resource of the pipeline; returns the event table's stream ARN."""
    stream_arn = create_event_table(clients.dynamodb, names.events_table)
    create_read_model_tables(clients.dynamodb, names.accounts_table, names.ledger_table)
    clients.kinesis.create_stream(StreamName=names.stream, ShardCount=shards)
    clients.s3.create_bucket(Bucket=names.bucket)
    return stream_arn


class DynamoDBStreamPump:
    """Reads every shard of a DynamoDB stream from TRIM_HORIZON; yields Lambda-shaped batches."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self._iterators: dict[str, str | None] = {}

    def batches(self, batch_size: int = 100) -> Iterator[list[dict]]:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while self._iterators[shard_id]:
                page = self.streams.get_records(ShardIterator=self._iterators[shard_id], Limit=batch_size)
                self._iterators[shard_id] = page.get("NextShardIterator")
                if not page["Records"]:
                    break
                yield [self._shaped(r) for r in page["Records"]]

    def read_range(self, shard_id: str, start: str, end: str) -> list[dict]:
        """Records of one shard from `start` to `end` inclusive (redrive), while still retained."""
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                                   ShardIteratorType="AT_SEQUENCE_NUMBER",
                                                   SequenceNumber=start)["ShardIterator"]
        return [self._shaped(r) for r in _read_until(self.streams.get_records, iterator, end,
                                                     lambda r: r["dynamodb"]["SequenceNumber"])]

    def _shaped(self, record: dict) -> dict:
        return lambda_records.dynamodb_record(record, stream_arn=self.stream_arn, region=_region_of(self.stream_arn))


def lambda_kinesis_record(record: dict, shard_id: str, stream_arn: str) -> dict:
    """A boto3 `get_records` record in the shape a Kinesis event source mapping delivers."""
    return lambda_records.kinesis_record(record, shard_id=shard_id, stream_arn=stream_arn, region=_region_of(stream_arn))


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


class KinesisPump:
    """Reads every shard of a Kinesis stream from TRIM_HORIZON (or from a sequence number)."""

    def __init__(self, kinesis: Any, stream: str) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
        self._iterators: dict[str, str | None] = {}

    def batches(self, batch_size: int = 100) -> Iterator[tuple[str, list[dict]]]:
        for shard in self.kinesis.list_shards(StreamName=self.stream)["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.kinesis.get_shard_iterator(
                    StreamName=self.stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while self._iterators[shard_id]:
                page = self.kinesis.get_records(ShardIterator=self._iterators[shard_id], Limit=batch_size)
                self._iterators[shard_id] = page.get("NextShardIterator")
                if not page["Records"]:
                    break
                yield shard_id, [lambda_kinesis_record(r, shard_id, self.stream_arn) for r in page["Records"]]

    def read_range(self, shard_id: str, start: str, end: str) -> list[dict]:
        """Records of one shard from `start` to `end` inclusive (redrive), while still retained."""
        iterator = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard_id,
                                                   ShardIteratorType="AT_SEQUENCE_NUMBER",
                                                   StartingSequenceNumber=start)["ShardIterator"]
        return [lambda_kinesis_record(r, shard_id, self.stream_arn)
                for r in _read_until(self.kinesis.get_records, iterator, end, lambda r: r["SequenceNumber"])]


def _read_until(get_records: Callable[..., dict], iterator: str | None, end: str,
                sequence: Callable[[dict], str]) -> Iterator[dict]:
    """Raw records from a shard iterator up to sequence number `end` inclusive (or the shard's end)."""
    while iterator:
        page = get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            if int(sequence(record)) > int(end):
                return
            yield record
        if not page["Records"]:
            return
        iterator = page.get("NextShardIterator")
