"""Archive, replay (blue/green rebuild into the standby slot, catch-up) and redrive, on moto."""

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
from tenantry.ops.replay import ReplayTargetMissingError, rebuild
from tenantry.ops.resources import create_read_model_tables

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


def standby(world):
    """The green slot's tables, as the Pulumi program declares them when `standby: true`."""
    names = world.names.with_slot("green")
    create_read_model_tables(world.clients.dynamodb, names.accounts_table, names.ledger_table)
    return names


def rebuilt_model(world, result) -> DynamoDBReadModel:
    return DynamoDBReadModel(result.accounts_table, result.ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY,
                             client=world.clients.dynamodb)


def test_archive_then_replay_reproduces_the_read_model_exactly(world):
    # GIVEN a projected history, its archive and an empty standby slot
    some_history(world.bank)
    world.pipeline(batch_size=7).drain()
    live_rows, live_entries = world.read_model.scan_rows(), world.read_model.scan_entries(rk.LEDGER_PARTITION_KEY)
    target = standby(world)
    err = io.StringIO()
    # WHEN
    result = rebuild(world.clients, target, source="archive", progress=err)
    # THEN
    rebuilt = rebuilt_model(world, result)
    assert (result.accounts_table, result.ledger_table) == (target.accounts_table, target.ledger_table)
    assert rebuilt.scan_rows() == live_rows
    assert rebuilt.scan_entries(rk.LEDGER_PARTITION_KEY) == live_entries
    assert (result.aggregates, result.events, result.cleared) == (2, 16, 0)
    assert "2/2" in err.getvalue()


def test_replay_from_the_event_store_clears_a_stale_standby_first(world):
    # GIVEN a standby slot holding a stale row that no event explains
    some_history(world.bank)
    world.pipeline().drain()
    target = standby(world)
    world.clients.dynamodb.put_item(TableName=target.accounts_table, Item={rk.ACCOUNTS_PARTITION_KEY: {"S": "ghost"}})
    # WHEN
    result = rebuild(world.clients, target, source="events", progress=None)
    # THEN the ghost is gone and the slot equals the live read model
    assert result.cleared == 1
    assert rebuilt_model(world, result).scan_rows() == world.read_model.scan_rows()


def test_replay_refuses_a_slot_that_is_not_declared(world):
    # GIVEN no green tables WHEN rebuilding into green THEN it names the missing tables, creates nothing
    target = world.names.with_slot("green")
    with pytest.raises(ReplayTargetMissingError) as raised:
        rebuild(world.clients, target, progress=None)
    assert raised.value.tables == [target.accounts_table, target.ledger_table]
    assert target.accounts_table not in world.clients.dynamodb.list_tables()["TableNames"]


def test_catch_up_applies_only_what_the_active_slot_misses(world):
    # GIVEN a projected history, then events the projector has not seen yet
    some_history(world.bank)
    world.pipeline().drain()
    world.bank.deposit(Deposit(account_id="b", amount=9, command_id="late"), CTX)
    # WHEN catching up the active slot without clearing it
    result = rebuild(world.clients, world.names, clear=False, progress=None)
    # THEN only the late event was applied and the slot equals the fold (verified)
    assert (result.cleared, result.events) == (0, 1)
    assert world.read_model.load_rows(["b"])["b"]["balance"] == 159


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
