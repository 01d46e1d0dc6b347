"""Archive, replay (blue/green) and redrive, on moto."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.commands import Deposit, OpenAccount, Transfer
from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import CommandContext, EventEnvelope
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from pipeline_support import TENANT, make_world
from tenantry.ops.redrive import Redriver, on_failure_record
from tenantry.ops.replay import pointer_parameter, replay

pytestmark = pytest.mark.functional
CTX = CommandContext(actor="test")


@pytest.fixture
def world(monkeypatch):
    yield from make_world(monkeypatch)


def some_history(bank) -> None:
    for aid in ("a", "b"):
        bank.open_account(OpenAccount(account_id=aid, owner_id="o", currency="EUR", initial_deposit=100, command_id=f"o{aid}"), CTX)
    for n in range(12):
        bank.deposit(Deposit(account_id="a", amount=n + 1, command_id=f"d{n}"), CTX)
    bank.transfer(Transfer(from_account_id="a", to_account_id="b", amount=50, command_id="t"), CTX)


def test_archive_objects_are_gzip_json_lines_under_idempotent_keys(world):
    # GIVEN
    some_history(world.bank)
    # WHEN
    world.pipeline(batch_size=5).drain()
    # THEN
    objects = world.clients.s3.list_objects_v2(Bucket=world.names.bucket)["Contents"]
    assert len(objects) == 4                                     # 16 events, batches of 5
    key = objects[0]["Key"]
    parts = key.split("/")
    assert parts[:2] == [k.ARCHIVE_PREFIX.strip("/"), TENANT] and parts[5].startswith("shardId-")
    assert parts[6].endswith(".jsonl.gz") and "-" in parts[6]
    lines = gzip.decompress(world.clients.s3.get_object(Bucket=world.names.bucket, Key=key)["Body"].read()).splitlines()
    assert all(EventEnvelope.from_json(line).tenant_id == TENANT for line in lines)


def test_archive_then_replay_reproduces_the_read_model_exactly(world):
    # GIVEN a projected history and its archive
    some_history(world.bank)
    world.pipeline(batch_size=7).drain()
    live_rows, live_entries = world.read_model.scan_rows(), world.read_model.scan_entries(rk.LEDGER_PARTITION_KEY)
    err = io.StringIO()
    # WHEN
    result = replay(world.clients, world.names, source="archive", build="b1", progress=err)
    # THEN
    rebuilt = DynamoDBReadModel(result.accounts_table, result.ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY,
                                client=world.clients.dynamodb)
    assert rebuilt.scan_rows() == live_rows
    assert rebuilt.scan_entries(rk.LEDGER_PARTITION_KEY) == live_entries
    assert (result.aggregates, result.events) == (2, 16)
    assert "2/2" in err.getvalue()
    pointer = json.loads(world.clients.ssm.get_parameter(Name=pointer_parameter(TENANT))["Parameter"]["Value"])
    assert pointer == {"accounts": result.accounts_table, "ledger": result.ledger_table, "build": "b1"}


def test_replay_from_the_event_store(world):
    some_history(world.bank)
    world.pipeline().drain()
    result = replay(world.clients, world.names, source="events", build="b2", progress=None)
    rebuilt = DynamoDBReadModel(result.accounts_table, result.ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY,
                                client=world.clients.dynamodb)
    assert rebuilt.scan_rows() == world.read_model.scan_rows()


def test_redrive_reads_the_batch_back_from_kinesis_and_deletes_the_message(world):
    # GIVEN events on Kinesis that the projector never applied, and their failure record in the DLQ
    some_history(world.bank)
    pipeline = world.pipeline(handlers={"projector": lambda event, ctx: {"batchItemFailures": []}}, archive=False)
    pipeline.drain()
    shard = world.clients.kinesis.list_shards(StreamName=world.names.stream)["Shards"][0]["ShardId"]
    records = world.clients.kinesis.get_records(ShardIterator=world.clients.kinesis.get_shard_iterator(
        StreamName=world.names.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"]
    queue = world.clients.sqs.create_queue(QueueName=world.names.failure_queue("projector"))["QueueUrl"]
    info = {"shardId": shard, "startSequenceNumber": records[0]["SequenceNumber"],
            "endSequenceNumber": records[-1]["SequenceNumber"], "batchSize": len(records),
            "streamArn": pipeline.projector_feed.stream_arn}
    world.clients.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(on_failure_record("KinesisBatchInfo", info)))
    # WHEN
    result = Redriver(world.clients, world.names).run(world.names.failure_queue("projector"), progress=None)
    # THEN
    assert (result.redriven, result.events, result.from_event_store) == (1, 16, 0)
    assert world.read_model.load_rows(["a", "b"])["b"]["balance"] == 150
    assert "Messages" not in world.clients.sqs.receive_message(QueueUrl=queue)


def test_redrive_falls_back_to_the_event_store_when_the_stream_no_longer_has_the_batch(world):
    some_history(world.bank)
    queue = world.clients.sqs.create_queue(QueueName=world.names.failure_queue("projector"))["QueueUrl"]
    info = {"shardId": "shardId-000000000099", "startSequenceNumber": "1", "endSequenceNumber": "2", "batchSize": 2,
            "streamArn": f"arn:aws:kinesis:us-east-1:123456789012:stream/{world.names.stream}"}
    world.clients.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(on_failure_record("KinesisBatchInfo", info)))
    result = Redriver(world.clients, world.names).run(world.names.failure_queue("projector"), progress=None)
    assert (result.redriven, result.from_event_store) == (1, 1)
    assert world.read_model.load_rows(["a"])["a"]["version"] == 14
