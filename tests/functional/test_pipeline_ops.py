"""Archive, replay (blue/green rebuild into the standby slot, catch-up) and redrive, on moto."""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.commands import Deposit, OpenAccount, Transfer
from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import CommandContext, EventEnvelope
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel, to_item
from lambdas.handlers.appsync_publisher import RecordingPublisher
from lambdas.handlers.archiver import archive_key
from pipeline_support import TENANT, make_world, on_failure_record
from tenantry import cli
from tenantry.ops import cli as ops_cli
from tenantry.ops import replay
from tenantry.ops.redrive import Redriver, UnknownFunctionError
from tenantry.ops.replay import ReplayTargetMissingError, ReplayVerificationError, rebuild
from tenantry.ops.resources import KinesisPump, create_read_model_tables, lambda_kinesis_record

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


# -- replay under live traffic ----------------------------------------------------------------


def test_an_event_appended_between_build_and_verify_does_not_fail_verification(world, monkeypatch):
    # GIVEN a standby build, and live commands landing after the build, before the verification
    some_history(world.bank)
    target = standby(world)
    real_verify = replay.verify

    def verify_under_live_traffic(built, store, ids):
        world.bank.deposit(Deposit(account_id="a", amount=3, command_id="live-1"), CTX)
        world.bank.open_account(OpenAccount(account_id="late", owner_id="o", currency="EUR", command_id="live-2"), CTX)
        return real_verify(built, store, ids)

    monkeypatch.setattr(replay, "verify", verify_under_live_traffic)
    # WHEN rebuilding THEN it verifies what it built (a at the version it projected), not the new head
    result = rebuild(world.clients, target, progress=None)
    assert (result.aggregates, result.events) == (2, 16)
    assert rebuilt_model(world, result).load_rows(["a"])["a"]["version"] == 14


def test_catch_up_verifies_while_the_live_projector_moves_the_active_slot(world, monkeypatch):
    # GIVEN a catch-up pass on the active slot, and the projector applying new events meanwhile
    some_history(world.bank)
    world.pipeline().drain()
    pipeline = world.pipeline(archive=False)
    real_verify = replay.verify

    def verify_while_projecting(built, store, ids):
        world.bank.deposit(Deposit(account_id="b", amount=4, command_id="live-3"), CTX)
        world.bank.open_account(OpenAccount(account_id="late", owner_id="o", currency="EUR", command_id="live-4"), CTX)
        pipeline.drain()      # rows past the built version, and a row of an aggregate opened after the snapshot
        return real_verify(built, store, ids)

    monkeypatch.setattr(replay, "verify", verify_while_projecting)
    # WHEN catching up THEN verification passes
    result = rebuild(world.clients, world.names, clear=False, progress=None)
    assert result.aggregates == 2
    assert world.read_model.load_rows(["b", "late"])["b"]["version"] == 3


def test_verification_still_catches_a_row_that_differs_from_the_fold(world):
    # GIVEN a built slot in which one row was tampered with
    some_history(world.bank)
    target = standby(world)
    result = rebuild(world.clients, target, progress=None)
    model = rebuilt_model(world, result)
    row = model.load_rows(["b"])["b"]
    world.clients.dynamodb.put_item(TableName=target.accounts_table, Item=to_item({**row, "balance": 1}))
    # WHEN verifying THEN b is named
    with pytest.raises(ReplayVerificationError) as raised:
        replay.verify(model, world.store, ["a", "b"])
    assert raised.value.mismatched == ["b"]


# -- redrive, per consumer --------------------------------------------------------------------


def _kinesis_batch(world, pipeline) -> tuple[dict, list[dict]]:
    shard = world.clients.kinesis.list_shards(StreamName=world.names.stream)["Shards"][0]["ShardId"]
    records = world.clients.kinesis.get_records(ShardIterator=world.clients.kinesis.get_shard_iterator(
        StreamName=world.names.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"]
    info = {"shardId": shard, "startSequenceNumber": records[0]["SequenceNumber"],
            "endSequenceNumber": records[-1]["SequenceNumber"], "batchSize": len(records),
            "streamArn": pipeline.projector_feed.stream_arn}
    return info, records


def _dlq(world, function: str, batch_info_key: str, info: dict) -> str:
    queue = world.clients.sqs.create_queue(QueueName=world.names.failure_queue(function))["QueueUrl"]
    world.clients.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(on_failure_record(batch_info_key, info)))
    return queue


def _kinesis_envelopes(world) -> list[EventEnvelope]:
    pump = KinesisPump(world.clients.kinesis, world.names.stream)
    return [EventEnvelope.from_json(base64.b64decode(r["kinesis"]["data"])) for _, batch in pump.batches() for r in batch]


def _archived_lines(world) -> dict[str, list[EventEnvelope]]:
    out = {}
    for obj in world.clients.s3.list_objects_v2(Bucket=world.names.bucket).get("Contents", []):
        body = world.clients.s3.get_object(Bucket=world.names.bucket, Key=obj["Key"])["Body"].read()
        out[obj["Key"]] = [EventEnvelope.from_json(line) for line in gzip.decompress(body).splitlines() if line]
    return out


def test_projector_redrive_publishes_the_redriven_updates(world):
    # GIVEN a projector batch that failed, in the projector's DLQ
    some_history(world.bank)
    pipeline = world.pipeline(handlers={"projector": lambda event, ctx: {"batchItemFailures": []}}, archive=False)
    pipeline.drain()
    info, _ = _kinesis_batch(world, pipeline)
    _dlq(world, "projector", "KinesisBatchInfo", info)
    publisher = RecordingPublisher()
    # WHEN redriven with the AppSync publisher
    result = Redriver(world.clients, world.names, "projector", publisher).run(
        world.names.failure_queue("projector"), progress=None)
    # THEN the read model caught up and subscribers hear the latest state of each account
    assert result.redriven == 1
    assert {aid: u["version"] for aid, u in publisher.latest().items()} == {"a": 14, "b": 2}


def test_archiver_redrive_archives_the_batch_and_leaves_the_read_model_alone(world):
    # GIVEN a Kinesis batch the archiver failed on (the projector never ran either)
    some_history(world.bank)
    pipeline = world.pipeline(handlers={"projector": lambda event, ctx: {"batchItemFailures": []},
                                        "archiver": lambda event, ctx: {"batchItemFailures": []}})
    pipeline.drain()
    info, records = _kinesis_batch(world, pipeline)
    queue = _dlq(world, "archiver", "KinesisBatchInfo", info)
    # WHEN the archiver's queue is redriven
    result = Redriver(world.clients, world.names, "archiver").run(world.names.failure_queue("archiver"), progress=None)
    # THEN the archiver's object for that batch exists (its key and lines), nothing was projected
    assert (result.redriven, result.events, result.from_event_store) == (1, 16, 0)
    archived = _archived_lines(world)
    expected_key = archive_key(TENANT, [lambda_kinesis_record(r, info["shardId"], info["streamArn"]) for r in records])
    assert list(archived) == [expected_key]
    assert [(e.aggregate_id, e.version) for e in archived[expected_key]] == \
        [(e.aggregate_id, e.version) for e in (EventEnvelope.from_json(r["Data"]) for r in records)]
    assert world.read_model.scan_rows() == {}
    assert "Messages" not in world.clients.sqs.receive_message(QueueUrl=queue)


def test_archiver_redrive_past_retention_archives_from_the_event_store(world):
    # GIVEN an archiver failure record whose batch Kinesis no longer holds
    some_history(world.bank)
    info = {"shardId": "shardId-000000000007", "startSequenceNumber": "100", "endSequenceNumber": "200",
            "batchSize": 16, "streamArn": f"arn:aws:kinesis:us-east-1:123456789012:stream/{world.names.stream}",
            "approximateArrivalOfFirstRecord": "2024-05-01T10:00:00.000Z",
            "approximateArrivalOfLastRecord": "2999-01-01T00:00:00.000Z"}
    _dlq(world, "archiver", "KinesisBatchInfo", info)
    # WHEN redriven
    result = Redriver(world.clients, world.names, "archiver").run(world.names.failure_queue("archiver"), progress=None)
    # THEN the events became archive lines under the batch's key, and replay can read them
    assert (result.redriven, result.from_event_store, result.events) == (1, 1, 16)
    archived = _archived_lines(world)
    assert list(archived) == [f"{k.ARCHIVE_PREFIX}{TENANT}/2024/05/01/shardId-000000000007/100-200.jsonl.gz"]
    assert sorted((e.aggregate_id, e.version) for e in next(iter(archived.values()))) == \
        sorted([("a", v) for v in range(1, 15)] + [("b", 1), ("b", 2)])
    assert world.read_model.scan_rows() == {}


def _ddb_stream_records(world) -> list[dict]:
    streams = world.clients.streams
    shard = streams.describe_stream(StreamArn=world.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=world.stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return shard, streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]


def test_publisher_redrive_re_publishes_the_batch_to_kinesis(world):
    # GIVEN a publisher batch that never reached Kinesis
    some_history(world.bank)
    shard, records = _ddb_stream_records(world)
    info = {"shardId": shard, "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"], "batchSize": len(records),
            "streamArn": world.stream_arn}
    _dlq(world, "publisher", "DDBStreamBatchInfo", info)
    # WHEN the publisher's queue is redriven
    result = Redriver(world.clients, world.names, "publisher").run(world.names.failure_queue("publisher"), progress=None)
    # THEN the envelopes are on Kinesis (for the projector and archiver to pick up), nothing else ran
    assert (result.redriven, result.events, result.from_event_store) == (1, 16, 0)
    assert sorted((e.aggregate_id, e.version) for e in _kinesis_envelopes(world)) == \
        sorted([("a", v) for v in range(1, 15)] + [("b", 1), ("b", 2)])
    assert world.read_model.scan_rows() == {}


def test_publisher_redrive_past_retention_re_publishes_from_the_event_store(world):
    # GIVEN a publisher failure record whose batch DynamoDB Streams no longer holds
    some_history(world.bank)
    shard, records = _ddb_stream_records(world)
    past = int(records[-1]["dynamodb"]["SequenceNumber"]) + 1000      # moto never trims: read past the end
    info = {"shardId": shard, "startSequenceNumber": str(past), "endSequenceNumber": str(past + 1), "batchSize": 2,
            "streamArn": world.stream_arn}
    _dlq(world, "publisher", "DDBStreamBatchInfo", info)
    # WHEN redriven
    result = Redriver(world.clients, world.names, "publisher").run(world.names.failure_queue("publisher"), progress=None)
    # THEN the event store's events were re-published to Kinesis
    assert (result.redriven, result.from_event_store) == (1, 1)
    assert len(_kinesis_envelopes(world)) == 16


def test_redrive_names_an_unknown_consumer(world):
    with pytest.raises(UnknownFunctionError) as raised:
        Redriver(world.clients, world.names, "commands")
    assert raised.value.function == "commands"


# -- the archive bucket's name: declared (autonamed), never derived ---------------------------------


def test_the_archive_bucket_comes_from_the_flag_or_the_running_dev_servers_declaration():
    # GIVEN dev.json naming the bucket `tenantry dev` created from the declaration
    dev = {"tenants": {TENANT: {"archive_bucket": "tenantry-t-archive-1a2b3c4"}}}
    local = argparse.Namespace(tenant=TENANT, aws=False, bucket=None)
    flagged = argparse.Namespace(tenant=TENANT, aws=True, bucket="from-stack-output")
    # WHEN / THEN the flag wins, else dev.json's name
    assert ops_cli.archive_bucket(local, dev, needed=True) == "tenantry-t-archive-1a2b3c4"
    assert ops_cli.archive_bucket(flagged, dev, needed=True) == "from-stack-output"


def test_an_unknown_archive_bucket_fails_only_where_it_is_needed():
    aws = argparse.Namespace(tenant=TENANT, aws=True, bucket=None)
    assert ops_cli.archive_bucket(aws, {}, needed=False) == ""
    with pytest.raises(SystemExit) as raised:
        ops_cli.archive_bucket(aws, {}, needed=True)
    assert "pulumi stack output bucket_name" in str(raised.value)


# -- redrive: what remains ----------------------------------------------------------------------


def _two_projector_failures(world) -> str:
    """Two failure records of one projector batch that never got applied; returns the queue URL."""
    some_history(world.bank)
    pipeline = world.pipeline(handlers={"projector": lambda event, ctx: {"batchItemFailures": []}}, archive=False)
    pipeline.drain()
    info, _ = _kinesis_batch(world, pipeline)
    _dlq(world, "projector", "KinesisBatchInfo", info)
    return _dlq(world, "projector", "KinesisBatchInfo", info)


def test_redrive_reports_messages_in_flight_and_exits_non_zero(world, capsys):
    # GIVEN two projector failure records, one of them received (in flight) by another consumer
    queue = _two_projector_failures(world)
    world.clients.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=600)
    # WHEN the queue is redriven from the command line
    code = cli.main(["redrive", "--tenant", TENANT, "--aws", "--region", world.clients.sqs.meta.region_name,
                     "--function", "projector"])
    # THEN the visible one was redriven, the one in flight is counted and named as what remains
    out, err = capsys.readouterr()
    assert code == 1
    assert "redrove 1/1 messages" in out and "in flight (not visible): 1" in out
    assert "1 in flight" in err and "--wait SECONDS" in err


def test_redrive_waits_for_messages_in_flight_when_asked(world):
    # GIVEN two failure records, one received by another consumer that gives it back within a second
    queue = _two_projector_failures(world)
    world.clients.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=1)
    # WHEN redriven with a wait longer than that (bounded: 60 s at worst)
    result = Redriver(world.clients, world.names).run(world.names.failure_queue("projector"), wait=60, progress=None)
    # THEN both were redriven and nothing remains
    assert (result.messages, result.redriven, result.in_flight, result.not_received, result.done) == (2, 2, 0, 0, True)


def test_a_message_that_is_no_failure_record_is_kept_and_named(world):
    queue = world.clients.sqs.create_queue(QueueName=world.names.failure_queue("publisher"))["QueueUrl"]
    world.clients.sqs.send_message(QueueUrl=queue, MessageBody="not json")
    lines = io.StringIO()
    result = Redriver(world.clients, world.names, "publisher").run(world.names.failure_queue("publisher"), progress=lines)
    assert (result.redriven, len(result.kept), result.done) == (0, 1, False)
    assert "still failing (?: not a Lambda on-failure record)" in lines.getvalue()
