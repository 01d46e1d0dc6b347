"""Failure paths: publisher partial failure, poison records, AppSync signing, snapshot spill."""

from __future__ import annotations

import base64
import copy
import dataclasses
import io
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
from lambdas.eventstore.envelope import CommandContext, EventEnvelope
from lambdas.eventstore.errors import CorruptEventError, UnknownEventTypeError
from lambdas.eventstore.events import DomainEvent, EventRegistry
from lambdas.eventstore.projection import ProjectionRuntime
from lambdas.eventstore.repository import Repository
from lambdas.handlers import projector, publisher
from lambdas.handlers.appsync_publisher import PUBLISH_MUTATION, AppSyncPublisher, RecordingPublisher
from lambdas.handlers.poison import PoisonHeadsBatchError
from pipeline_support import POISON_KINDS, event_item, make_world, poison_item, put_item
from tenantry.ops.local_pipeline import FakeLambdaContext
from tenantry.ops.resources import KinesisPump, lambda_kinesis_record

pytestmark = [pytest.mark.functional, pytest.mark.lambda_side]
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
    monkeypatch.setattr(publisher, "stream_publisher", lambda: publisher.StreamPublisher("s", flaky, tenant_id=world.names.tenant))
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
    sent = publisher.StreamPublisher(world.names.stream, world.clients.kinesis, tenant_id=world.names.tenant).publish([modify, other, insert])
    assert (sent.sent, sent.skipped, sent.first_failed_sequence) == (1, 2, None)


def published(world) -> list[tuple[str, int]]:
    pump = KinesisPump(world.clients.kinesis, world.names.stream)
    return [(e.aggregate_id, e.version) for _, batch in pump.batches(1000)
            for e in (EventEnvelope.from_json(base64.b64decode(r["kinesis"]["data"])) for r in batch)]


def log_lines(monkeypatch, logger) -> io.StringIO:
    """What a Powertools logger writes from now on (JSON lines)."""
    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer


def sequence(record: dict) -> str:
    return record["dynamodb"]["SequenceNumber"]


@pytest.mark.parametrize("kind", POISON_KINDS)
def test_a_poison_item_costs_only_its_own_aggregate(world, monkeypatch, kind):
    # GIVEN one batch: a's events, a poison item of c, a valid later item of c, then b's events
    open_and_deposit(world.bank, "a", 1)
    put_item(world, poison_item("c", 1, kind))
    put_item(world, event_item("c", 2, "MoneyDeposited", {"amount": 5}))
    open_and_deposit(world.bank, "b", 1)
    records = stream_records(world)
    logs = log_lines(monkeypatch, publisher.logger)
    # WHEN the publisher handles it
    response = publisher.handler({"Records": records}, FakeLambdaContext())
    # THEN the poison item is the batch item failure: Lambda checkpoints just before it
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(records[2])}]}
    # AND every healthy event was published, before and after it; c's later event was held back
    assert published(world) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    # AND the log line names the poison and the tenant
    (line,) = [json.loads(x) for x in logs.getvalue().splitlines() if '"poison event item"' in x]
    assert (line["aggregate_id"], line["version"], line["sequence_number"], line["tenant_id"]) == \
        ("c", 1, sequence(records[2]), "acme")
    assert line["level"] == "ERROR" and line["reason"]


@pytest.mark.parametrize("kind, error", [("unknown event type", UnknownEventTypeError),
                                         ("bad JSON metadata", CorruptEventError),
                                         ("missing metadata", CorruptEventError)])
def test_publishable_names_what_is_wrong_with_a_poison_item(kind, error):
    with pytest.raises(error) as raised:
        publisher.publishable(poison_item("c", 3, kind))
    assert (raised.value.aggregate_id, raised.value.version) == ("c", 3)


def test_an_item_whose_data_does_not_validate_is_poison_too():
    item = event_item("c", 2, "MoneyDeposited", {"amount": "lots"})
    with pytest.raises(CorruptEventError) as raised:
        publisher.publishable(item)
    assert "does not validate" in raised.value.reason


def test_an_envelope_field_of_the_wrong_type_is_poison_too():
    item = event_item("c", 2, "MoneyDeposited", {"amount": 5})
    meta = json.loads(item[k.META]["S"])
    item[k.META] = {"S": json.dumps({**meta, k.META_TENANT_ID: 42})}
    with pytest.raises(CorruptEventError) as raised:
        publisher.publishable(item)
    assert raised.value.reason == "invalid envelope fields: tenant_id"


def test_a_poison_item_heading_a_batch_of_several_fails_the_invocation(world):
    # GIVEN a batch that starts with a poison item
    put_item(world, poison_item("c", 1, "missing metadata"))
    open_and_deposit(world.bank, "a", 1)
    records = stream_records(world)
    # WHEN the publisher handles it THEN it fails the invocation, naming the poison, so Lambda
    # bisects (a partial batch response naming the first record would move nothing)
    with pytest.raises(PoisonHeadsBatchError) as raised:
        publisher.handler({"Records": records}, FakeLambdaContext())
    poison = raised.value.poison
    assert (poison.sequence_number, poison.aggregate_id, poison.version) == (sequence(records[0]), "c", 1)
    assert raised.value.batch_size == 3
    # AND the healthy events went out all the same
    assert published(world) == [("a", 1), ("a", 2)]


def test_a_poison_item_alone_in_its_batch_is_the_batch_item_failure(world):
    put_item(world, poison_item("c", 1, "bad JSON metadata"))
    (record,) = stream_records(world)
    response = publisher.handler({"Records": [record]}, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(record)}]}
    assert published(world) == []


def test_a_rejected_put_before_a_poison_item_is_what_the_response_names(world, monkeypatch):
    # GIVEN a's opening, rejected by Kinesis, then a poison item of c
    open_and_deposit(world.bank, "a", 0)
    put_item(world, poison_item("c", 1, "unknown event type"))
    records = stream_records(world)
    monkeypatch.setattr(publisher, "stream_publisher", lambda: publisher.StreamPublisher("s", FlakyKinesis(0), tenant_id=world.names.tenant))
    # WHEN THEN the earlier failure is named (no bisect: a throttle is not the record's fault)
    response = publisher.handler({"Records": records}, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(records[0])}]}


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


def kinesis_event(envelopes_or_bytes: list) -> dict:
    raw = [{"SequenceNumber": str(100 + i), "ApproximateArrivalTimestamp": 0.0,
            "PartitionKey": e.aggregate_id if isinstance(e, EventEnvelope) else e[0],
            "Data": e.to_json().encode() if isinstance(e, EventEnvelope) else e[1]}
           for i, e in enumerate(envelopes_or_bytes)]
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
    return {"Records": [lambda_kinesis_record(r, "shardId-000000000000", arn) for r in raw]}


def recording_projector(world, monkeypatch) -> RecordingPublisher:
    recorder = RecordingPublisher()
    monkeypatch.setattr(projector, "runtime", lambda: ProjectionRuntime(ACCOUNTS, world.read_model, world.store, recorder))
    return recorder


def test_a_corrupt_item_hit_by_a_gap_fill_fails_only_its_aggregate(world, monkeypatch):
    # GIVEN a projected at v2, then a corrupt v3 in the event store (never published) and a valid v4
    open_and_deposit(world.bank, "a", 1)
    open_and_deposit(world.bank, "b", 1)
    world.pipeline(archive=False).drain()
    put_item(world, poison_item("a", 3, "bad JSON metadata"))
    put_item(world, event_item("a", 4, "MoneyDeposited", {"amount": 7}))
    a4 = next(world.store.read("a", from_version=4)).envelope
    world.bank.deposit(Deposit(account_id="b", amount=2, command_id="late-b"), CTX)
    b3 = next(world.store.read("b", from_version=3)).envelope
    recorder = recording_projector(world, monkeypatch)
    event = kinesis_event([b3, a4])
    # WHEN a batch with a's v4 and b's v3 is projected (a's gap fill reads the corrupt v3)
    response = projector.handler(event, FakeLambdaContext())
    # THEN only a's record is reported; b moved on, a stays where it was
    assert response == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    rows = world.read_model.load_rows(["a", "b"])
    assert (rows["a"]["version"], rows["b"]["version"]) == (2, 3)
    assert [u["accountId"] for u in recorder.published] == ["b"]


def test_a_projector_batch_headed_by_a_failed_for_good_aggregate_fails_the_invocation(world, monkeypatch):
    # GIVEN a batch whose first record is undecodable, then b's events
    open_and_deposit(world.bank, "b", 1)
    recording_projector(world, monkeypatch)
    event = kinesis_event([("c", b"\x00garbage"), *[s.envelope for s in world.store.read("b")]])
    # WHEN projected THEN the invocation fails naming it, and b was projected all the same
    with pytest.raises(PoisonHeadsBatchError) as raised:
        projector.handler(event, FakeLambdaContext())
    assert (raised.value.poison.aggregate_id, raised.value.poison.sequence_number) == ("c", "100")
    assert world.read_model.load_rows(["b"])["b"]["version"] == 2


def test_a_transient_failure_heading_a_batch_is_only_reported(world, monkeypatch):
    # GIVEN a read model whose first commit is refused (a throttle, say)
    open_and_deposit(world.bank, "a", 0)
    open_and_deposit(world.bank, "b", 0)
    recording_projector(world, monkeypatch)
    commit = world.read_model.commit

    def refuse_a(c):
        if c.aggregate_id == "a":
            raise RuntimeError("throttled")
        commit(c)

    monkeypatch.setattr(world.read_model, "commit", refuse_a)
    event = kinesis_event([next(world.store.read(aid)).envelope for aid in ("a", "b")])
    # WHEN projected THEN a is reported (retried whole), no bisect for what a retry can cure
    assert projector.handler(event, FakeLambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "100"}]}
    assert world.read_model.load_rows(["b"])["b"]["version"] == 1


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
                                          "updatedAt": "2024-01-01T00:00:00.000000Z", "ownerId": "o"}
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
    assert items.decode(item, table_tenant="acme").snapshot is None                 # the stream image never carries the state
    assert len(repo.load("big").state.blobs) == 4
