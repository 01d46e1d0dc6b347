"""Commands -> DynamoDB stream -> publisher -> Kinesis -> projector -> read models, on moto."""

from __future__ import annotations

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.projections import ACCOUNTS
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.projection import ProjectionRuntime, fold_store
from lambdas.handlers import projector
from lambdas.handlers.appsync_publisher import RecordingPublisher
from pipeline_support import aggregate_ids, make_world

pytestmark = [pytest.mark.functional, pytest.mark.lambda_side]
CTX = CommandContext(actor="test")


@pytest.fixture
def world(monkeypatch):
    yield from make_world(monkeypatch)


@pytest.fixture
def published(world, monkeypatch) -> RecordingPublisher:
    recorder = RecordingPublisher()
    runtime = ProjectionRuntime(ACCOUNTS, world.read_model, world.store, recorder)
    monkeypatch.setattr(projector, "runtime", lambda: runtime)
    return recorder


def run_commands(bank) -> None:
    bank.open_account(OpenAccount(account_id="a", owner_id="alice", currency="EUR", initial_deposit=500, command_id="o1"), CTX)
    bank.open_account(OpenAccount(account_id="b", owner_id="alice", currency="EUR", command_id="o2"), CTX)
    bank.open_account(OpenAccount(account_id="c", owner_id="carol", currency="EUR", command_id="o3"), CTX)
    for n in range(25):                                   # crosses snapshot versions 10 and 20
        bank.deposit(Deposit(account_id="a", amount=10 + n, command_id=f"d{n}"), CTX)
    bank.transfer(Transfer(from_account_id="a", to_account_id="b", amount=300, command_id="t1"), CTX)
    bank.withdraw(Withdraw(account_id="b", amount=100, command_id="w1"), CTX)
    bank.close_account(CloseAccount(account_id="c", command_id="x1"), CTX)


def test_read_models_equal_the_fold_of_the_event_store(world, published):
    # GIVEN
    run_commands(world.bank)
    # WHEN
    run = world.pipeline().drain()
    # THEN
    assert all(not failures for failures in run.failures.values())
    ids = aggregate_ids(world)
    rows, entries = fold_store(ACCOUNTS, world.store, ids)
    assert world.read_model.scan_rows() == rows
    assert world.read_model.scan_entries(rk.LEDGER_PARTITION_KEY) == entries
    for aid in ids:                                       # and the domain's own fold agrees
        view = world.bank.account_at(aid)
        assert (rows[aid]["balance"], rows[aid]["version"], rows[aid]["status"]) == (view.balance, view.version, view.status)
    assert {aid: u["version"] for aid, u in published.latest().items()} == {aid: rows[aid]["version"] for aid in ids}


def test_one_write_and_one_publish_per_account_per_batch(world, published):
    # GIVEN 32 events over 3 accounts, delivered as one Kinesis batch
    run_commands(world.bank)
    # WHEN
    run = world.pipeline().drain()
    # THEN
    assert run.invocations["projector"] == 1
    assert len(published.published) == 3


def test_snapshots_ride_on_every_nth_event(world):
    # GIVEN
    run_commands(world.bank)
    # WHEN
    items = world.clients.dynamodb.query(
        TableName=world.names.events_table, KeyConditionExpression="pk = :a",
        ExpressionAttributeValues={":a": {"S": "a"}})["Items"]
    # THEN
    assert sorted(int(i["v"]["N"]) for i in items if "ss" in i) == [10, 20]


def test_the_publisher_sends_no_snapshot_to_kinesis(world, published):
    run_commands(world.bank)
    world.pipeline().drain()
    shard = world.clients.kinesis.list_shards(StreamName=world.names.stream)["Shards"][0]["ShardId"]
    iterator = world.clients.kinesis.get_shard_iterator(StreamName=world.names.stream, ShardId=shard,
                                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = world.clients.kinesis.get_records(ShardIterator=iterator)["Records"]
    assert len(records) == 32
    assert all(b'"ss"' not in r["Data"] and b"snapshot" not in r["Data"] for r in records)
    assert {r["PartitionKey"] for r in records} == {"a", "b", "c"}
