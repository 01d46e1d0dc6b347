"""Failure paths: publisher partial failure, poison records, AppSync signing, snapshot spill."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path

import graphql
import pytest
from botocore.credentials import Credentials

from lambdas.banking.commands import Deposit, OpenAccount
from lambdas.banking.projections import ACCOUNT_UPDATE_FIELDS, ACCOUNTS
from lambdas.eventstore import items
from lambdas.eventstore import keys as k
from lambdas.eventstore.aggregate import AggregateSpec, StateCodec
from lambdas.eventstore.dynamodb import S3SnapshotSpill, SPILL_THRESHOLD_BYTES, DynamoDBEventStore
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.events import DomainEvent, EventRegistry
from lambdas.eventstore.projection import ProjectionRuntime
from lambdas.eventstore.repository import Repository
from lambdas.handlers import projector, publisher
from lambdas.handlers.appsync_publisher import PUBLISH_MUTATION, AppSyncPublisher, RecordingPublisher
from pipeline_support import make_world
from tenantry.ops.local_pipeline import FakeLambdaContext
from tenantry.ops.resources import lambda_kinesis_record

pytestmark = pytest.mark.functional
CTX = CommandContext(actor="test")


@pytest.fixture
def world(monkeypatch):
    yield from make_world(monkeypatch, snapshot_interval=3)


def open_and_deposit(bank, account_id: str, deposits: int) -> None:
    bank.open_account(OpenAccount(account_id=account_id, owner_id="o", currency="EUR", command_id=f"o-{account_id}"), CTX)
    for n in range(deposits):
        bank.deposit(Deposit(account_id=account_id, amount=1, command_id=f"d-{account_id}-{n}"), CTX)


class FlakyKinesis:
    """PutRecords fails the record at `fail_index` of the first call (throttled)."""

    def __init__(self, fail_index: int) -> None:
        self.fail_index = fail_index
        self.calls: list[list[dict]] = []

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:  # noqa: N803 - boto3's names
        self.calls.append(Records)
        results = [{"SequenceNumber": str(i), "ShardId": "shardId-0"} for i in range(len(Records))]
        results[self.fail_index] = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
        return {"FailedRecordCount": 1, "Records": results}


def stream_records(world) -> list[dict]:
    return [r for batch in world.pipeline().ddb_stream.batches(1000) for r in batch]


def test_publisher_reports_the_first_failed_record(world, monkeypatch):
    # GIVEN 4 event inserts, and Kinesis rejecting the third
    open_and_deposit(world.bank, "a", 3)
    records = stream_records(world)
    flaky = FlakyKinesis(fail_index=2)
    monkeypatch.setattr(publisher, "stream_publisher", lambda: publisher.StreamPublisher("s", flaky))
    # WHEN
    response = publisher.handler({"Records": records}, FakeLambdaContext())
    # THEN Lambda retries from the third record on
    assert response == {"batchItemFailures": [{"itemIdentifier": records[2]["dynamodb"]["SequenceNumber"]}]}
    assert [r["PartitionKey"] for r in flaky.calls[0]] == ["a"] * 4


def test_publisher_skips_anything_but_event_inserts(world, monkeypatch):
    open_and_deposit(world.bank, "a", 0)
    insert = stream_records(world)[0]
    modify = dict(insert, eventName="MODIFY")
    other = copy.deepcopy(insert)
    other["dynamodb"]["NewImage"][k.KIND] = {"S": "other"}
    sent = publisher.StreamPublisher(world.names.stream, world.clients.kinesis).publish([modify, other, insert])
    assert (sent.sent, sent.skipped, sent.first_failed_sequence) == (1, 2, None)


def test_poison_record_fails_its_aggregate_while_others_flow(world, monkeypatch):
    # GIVEN a Kinesis batch where b's record is not an envelope
    open_and_deposit(world.bank, "a", 2)
    open_and_deposit(world.bank, "b", 0)
    recorder = RecordingPublisher()
    monkeypatch.setattr(projector, "runtime", lambda: ProjectionRuntime(ACCOUNTS, world.read_model, world.store, recorder))
    good = [s.envelope for s in world.store.read("a")]
    shard = "shardId-000000000000"
    raw = [{"SequenceNumber": str(100 + i), "ApproximateArrivalTimestamp": 0.0, "PartitionKey": e.aggregate_id,
            "Data": e.to_json().encode()} for i, e in enumerate(good)]
    raw.insert(1, {"SequenceNumber": "150", "ApproximateArrivalTimestamp": 0.0, "PartitionKey": "b", "Data": b"\x00garbage"})
    event = {"Records": [lambda_kinesis_record(r, shard, "arn:aws:kinesis:us-east-1:123456789012:stream/s") for r in raw]}
    # WHEN
    response = projector.handler(event, FakeLambdaContext())
    # THEN only the poison record is reported; a is fully projected and published
    assert response == {"batchItemFailures": [{"itemIdentifier": "150"}]}
    assert world.read_model.load_rows(["a", "b"])["a"]["version"] == 3
    assert [u["accountId"] for u in recorder.published] == ["a"]


def test_appsync_publisher_signs_and_selects_every_field():
    # GIVEN
    sent = {}

    class Http:
        def request(self, method, url, body, headers):
            sent.update(method=method, url=url, body=body, headers=headers)
            return type("R", (), {"status": 200, "data": b'{"data":{"publishAccountUpdate":{}}}'})()

    url = "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql"
    appsync = AppSyncPublisher(url, credentials=Credentials("AKIDEXAMPLE", "secret", "token"), http=Http())
    row = {"id": "a", "balance": 5, "version": 2, "status": "OPEN", "updatedAt": "2024-01-01T00:00:00.000000Z",
           "ownerId": "o", "currency": "EUR", "openedAt": "2024-01-01T00:00:00.000000Z"}
    # WHEN
    appsync.publish(row)
    # THEN
    auth = sent["headers"]["Authorization"]
    assert re.fullmatch(r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/appsync/aws4_request, "
                        r"SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}", auth)
    assert sent["headers"]["X-Amz-Security-Token"] == "token"
    body = json.loads(sent["body"])
    assert body["variables"]["input"] == {"accountId": "a", "balance": 5, "version": 2, "status": "OPEN",
                                          "updatedAt": "2024-01-01T00:00:00.000000Z"}
    sdl = re.sub(r"@aws_\w+(\([^)]*\))?", "", (Path(__file__).parents[2] / "resolvers" / "schema.graphql").read_text())
    schema = graphql.build_schema("scalar AWSDateTime\n" + sdl)
    assert not graphql.validate(schema, graphql.parse(PUBLISH_MUTATION))
    assert set(ACCOUNT_UPDATE_FIELDS) == set(schema.type_map["AccountUpdate"].fields)


# -- snapshots -------------------------------------------------------------------------------------
class Grown(DomainEvent):
    blob: str


@dataclasses.dataclass(frozen=True)
class Big:
    blobs: tuple[str, ...] = ()


BIG = AggregateSpec(
    aggregate_type="Big", registry=EventRegistry([Grown]), initial=lambda _id: Big(),
    evolve=lambda s, e: Big(s.blobs + (e.blob,)), summarize=lambda s: len(s.blobs),
    codec=StateCodec(to_data=lambda s: {"b": list(s.blobs)}, from_data=lambda d: Big(tuple(d["b"])), schema="big-1"),
)


def test_a_state_over_the_item_limit_spills_to_s3(world):
    # GIVEN a test-only aggregate whose state grows by 100 KB per event, snapshot every 4 events
    spill = S3SnapshotSpill(world.names.bucket, world.clients.s3)
    store = DynamoDBEventStore(world.names.events_table, world.clients.dynamodb, tenant_id="acme", spill=spill)
    repo = Repository(store, BIG, tenant_id="acme", snapshot_interval=4)
    # WHEN
    for n in range(4):
        repo.execute("big", command_id=f"g{n}", payload_hash=str(n), ctx=CTX,
                     decide=lambda s, n=n: [Grown(blob=str(n) * 100_000)])
    # THEN the snapshot lives in S3 behind a pointer, and loading uses it
    item = world.clients.dynamodb.get_item(TableName=world.names.events_table,
                                           Key={k.PARTITION_KEY: {"S": "big"}, k.SORT_KEY: {"N": "4"}})["Item"]
    assert k.SNAPSHOT_STATE not in item and item[k.SNAPSHOT_POINTER]["S"].startswith(k.SNAPSHOT_PREFIX)
    body = world.clients.s3.get_object(Bucket=world.names.bucket, Key=item[k.SNAPSHOT_POINTER]["S"])["Body"].read()
    assert len(body) > SPILL_THRESHOLD_BYTES
    assert items.decode(item).snapshot is None                 # the stream image never carries the state
    assert len(repo.load("big").state.blobs) == 4
