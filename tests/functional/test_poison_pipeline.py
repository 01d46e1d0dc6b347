"""Poison items among healthy ones, on the twin: the tenant as its Pulumi program declares it (event
source mappings with bisect on error, partial batch responses, 5 retries and on-failure queues),
provisioned on the embedded emulator, its real handlers run by the local Lambda runtime and fed by
the local pollers. Then `tenantry redrive` on the queues, before and after the items are repaired.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.commands import Deposit, OpenAccount
from lambdas.banking.projections import ACCOUNTS
from lambdas.banking.service import BankingService
from lambdas.eventstore import keys as k
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.projection import fold_store
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from pipeline_support import POISON_KINDS, event_item, opened_item, poison_item
from tenantry import cli
from tenantry.local.applier import apply
from tenantry.local.emulator import FAKE_CREDENTIALS, Emulator
from tenantry.local.lambda_runtime import LambdaRuntime
from tenantry.local.model import LocalTenant
from tenantry.local.pollers import Pollers
from tenantry.local.wiring import localize
from tenantry.ops.redrive import Redriver, RedriveResult
from tenantry.ops.resources import Clients, DynamoDBStreamPump, KinesisPump, PipelineNames
from tests.functional.local_support.fixtures import declared_example

pytestmark = pytest.mark.functional
ROOT = Path(__file__).resolve().parents[2]
TENANT = "acme"
CTX = CommandContext(actor="test")
HEALTHY = tuple(f"healthy-{n}" for n in range(6))


@dataclass
class Twin:
    emulator: Emulator
    tenant: LocalTenant
    clients: Clients
    names: PipelineNames
    bank: BankingService
    store: DynamoDBEventStore
    read_model: DynamoDBReadModel
    pollers: Pollers

    def drain(self) -> None:
        self.pollers.drain(timeout=60)

    def put(self, item: dict) -> None:
        self.clients.dynamodb.put_item(TableName=self.names.events_table, Item=item)

    def failure_records(self, function: str) -> list[dict]:
        """The on-failure queue's messages, left in the queue."""
        url = self.clients.sqs.get_queue_url(QueueName=self.names.failure_queue(function))["QueueUrl"]
        page = self.clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(m["Body"]) for m in page.get("Messages", [])]

    def redrive(self, function: str, **kwargs) -> tuple[RedriveResult, str]:
        lines = io.StringIO()
        result = Redriver(self.clients, self.names, function).run(self.names.failure_queue(function),
                                                                 progress=lines, **kwargs)
        return result, lines.getvalue()

    def stream_sequence(self, aggregate_id: str, version: int) -> str:
        """The DynamoDB stream sequence number of the item's INSERT."""
        stream_arn = self.tenant.tables[self.names.events_table].stream_arn
        for batch in DynamoDBStreamPump(self.clients.streams, stream_arn).batches(1000):
            for record in batch:
                keys = record["dynamodb"]["Keys"]
                if record["eventName"] == "INSERT" and keys == {k.PARTITION_KEY: {"S": aggregate_id},
                                                                  k.SORT_KEY: {"N": str(version)}}:
                    return record["dynamodb"]["SequenceNumber"]
        raise AssertionError(f"no INSERT of {aggregate_id} v{version} on the stream")

    def assert_projected(self, aggregate_ids) -> None:
        """Each read model row and its ledger equal the fold of the aggregate's events."""
        rows, entries = fold_store(ACCOUNTS, self.store, aggregate_ids)
        actual = self.read_model.load_rows(list(aggregate_ids))
        assert actual == rows
        ledger = self.read_model.scan_entries(rk.LEDGER_PARTITION_KEY)
        assert {key: e for key, e in ledger.items() if key[0] in set(aggregate_ids)} == entries


@pytest.fixture
def twin():
    region, resources = declared_example(TENANT)
    with Emulator(region=region) as emulator:
        tenant = localize(apply(list(resources), emulator, tenant=TENANT, region=region), graphql_url="")
        clients = Clients.create(endpoint_url=emulator.endpoint_url, region=region, **FAKE_CREDENTIALS)
        names = PipelineNames.for_tenant(TENANT, next(iter(tenant.buckets)))   # as declared (autonamed)
        store = DynamoDBEventStore(names.events_table, clients.dynamodb, tenant_id=TENANT)
        read_model = DynamoDBReadModel(names.accounts_table, names.ledger_table, row_key=rk.ACCOUNTS_PARTITION_KEY,
                                       client=clients.dynamodb)
        pollers = Pollers(tenant, LambdaRuntime(tenant, emulator), emulator, retry_backoff=0.001)
        yield Twin(emulator, tenant, clients, names, BankingService(store, TENANT), store, read_model, pollers)
        pollers.stop()
        emulator.reset()        # moto's state is the process's: the next test starts empty


def open_accounts(bank: BankingService, ids) -> None:
    for aid in ids:
        bank.open_account(OpenAccount(account_id=aid, owner_id="o", currency="EUR", initial_deposit=10,
                                      command_id=f"open-{aid}"), CTX)


def deposit_round(bank: BankingService, ids, n: int) -> None:
    for aid in ids:
        bank.deposit(Deposit(account_id=aid, amount=n + 1, command_id=f"dep-{aid}-{n}"), CTX)


def only_record(failure: dict) -> tuple[str, str, int]:
    info = failure["DDBStreamBatchInfo"] if "DDBStreamBatchInfo" in failure else failure["KinesisBatchInfo"]
    return info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]


def test_poison_items_cost_only_their_own_aggregates_and_redrive_says_what_remains(twin, capsys):
    # GIVEN healthy accounts, poison items of three kinds written straight into the events table,
    # each followed at once by deposits on the healthy accounts (one stream batch holds them all)
    poisons = [f"poison-{n}" for n in range(len(POISON_KINDS))]
    open_accounts(twin.bank, HEALTHY)
    for n, (aid, kind) in enumerate(zip(poisons, POISON_KINDS)):
        twin.put(poison_item(aid, 1, kind))
        deposit_round(twin.bank, HEALTHY, n)
    # WHEN the pipeline runs
    twin.pollers.start()
    twin.drain()
    # THEN every healthy account's read model equals the fold of its events
    twin.assert_projected(HEALTHY)
    # AND the publisher's on-failure queue holds one message per poison item, naming only it
    poison_sequences = {twin.stream_sequence(aid, 1) for aid in poisons}
    parked = [only_record(f) for f in twin.failure_records("publisher")]
    assert sorted(parked) == sorted((seq, seq, 1) for seq in poison_sequences)
    assert twin.failure_records("projector") == [] and twin.failure_records("archiver") == []

    # WHEN the publisher's queue is redriven (the CLI, as an operator runs it)
    code = cli.main(["redrive", "--tenant", TENANT, "--function", "publisher", "--endpoint-url",
                     twin.emulator.endpoint_url, "--dev-json", "/nonexistent/dev.json"])
    # THEN it says each message still fails, on which item and why, and exits non-zero
    out, err = capsys.readouterr()
    assert code == 1
    still_failing = [line for line in out.splitlines() if ": still failing (" in line]
    assert len(still_failing) == 3
    assert {p for p in poisons for line in still_failing if f"({p} v1: " in line} == set(poisons)
    assert "unknown event type MoneyTeleported" in out
    assert "redrove 0/3 messages" in out and "still failing: 3, in flight (not visible): 0" in out
    assert "3 still failing" in err
    # AND the messages are visible again at once, for the next run
    assert len(twin.failure_records("publisher")) == 3

    # WHEN two poison items are deleted, the third repaired in place, and the queue redriven again
    twin.clients.dynamodb.delete_item(TableName=twin.names.events_table, Key=_key(poisons[0], 1))
    twin.clients.dynamodb.delete_item(TableName=twin.names.events_table, Key=_key(poisons[1], 1))
    twin.put(opened_item(poisons[2]))
    result, lines = twin.redrive("publisher")
    twin.drain()
    # THEN it clears the queue and says what it did for each message
    assert (result.redriven, result.messages, result.kept, result.in_flight, result.done) == (3, 3, [], 0, True)
    assert f"gone from the event table: {poisons[0]} v1" in lines
    assert f"gone from the event table: {poisons[1]} v1" in lines
    assert f"re-published 1 event of 1 aggregate ({poisons[2]})" in lines
    assert twin.failure_records("publisher") == []
    # AND the repaired aggregate reached its read model; the healthy ones are untouched
    twin.assert_projected([*HEALTHY, poisons[2]])


def _key(aggregate_id: str, version: int) -> dict:
    return {k.PARTITION_KEY: {"S": aggregate_id}, k.SORT_KEY: {"N": str(version)}}


def test_a_poison_on_the_stream_or_hit_by_a_gap_fill_costs_only_its_aggregate(twin):
    # GIVEN healthy accounts and account "gap", projected
    open_accounts(twin.bank, [*HEALTHY, "gap"])
    twin.pollers.start()
    twin.drain()
    # AND a corrupt item at gap's next version and a valid one after it, written straight into the
    # table, and a record on the stream that is no envelope, each followed by healthy deposits
    twin.put(poison_item("gap", 2, "bad JSON metadata"))
    twin.put(event_item("gap", 3, "MoneyDeposited", {"amount": 7}))
    deposit_round(twin.bank, HEALTHY, 0)
    twin.clients.kinesis.put_record(StreamName=twin.names.stream, PartitionKey="junk", Data=b"\x00garbage")
    deposit_round(twin.bank, HEALTHY, 1)
    # WHEN the pipeline runs
    twin.drain()
    # THEN the healthy accounts are projected, gap is held where its history is intact
    twin.assert_projected(HEALTHY)
    assert twin.read_model.load_rows(["gap"])["gap"]["version"] == 1
    # AND the publisher parked gap's corrupt item alone
    (parked,) = [only_record(f) for f in twin.failure_records("publisher")]
    assert parked == (twin.stream_sequence("gap", 2),) * 2 + (1,)
    # AND the projector parked, one per message, gap's v3 (its gap fill hit the corrupt item) and the junk
    parked = [f["KinesisBatchInfo"] for f in twin.failure_records("projector")]
    assert all(info["batchSize"] == 1 for info in parked)
    assert sorted(partition_key(twin, info) for info in parked) == ["gap", "junk"]

    # WHEN the projector's queue is redriven
    result, lines = twin.redrive("projector")
    # THEN the junk is resolved from the event store (the system of record); gap still fails, and why
    assert (result.redriven, len(result.kept), result.in_flight) == (1, 1, 0)
    assert "caught up from the event store: junk" in lines
    (failing,) = [line for line in lines.splitlines() if "still failing" in line]
    assert "(gap v2: malformed item: JSONDecodeError" in failing

    # WHEN gap's corrupt item is repaired in place and both queues are redriven
    twin.put(event_item("gap", 2, "MoneyDeposited", {"amount": 5}))
    published, published_lines = twin.redrive("publisher")
    projected, _ = twin.redrive("projector")
    twin.drain()
    # THEN both queues are empty, say so, and gap's read model equals the fold of its events
    assert "re-published 1 event of 1 aggregate (gap)" in published_lines
    assert published.done and projected.done and projected.redriven == 1
    assert twin.failure_records("publisher") == [] and twin.failure_records("projector") == []
    twin.assert_projected([*HEALTHY, "gap"])


def partition_key(twin: Twin, info: dict) -> str:
    (record,) = KinesisPump(twin.clients.kinesis, twin.names.stream).read_range(
        info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"])
    return record["kinesis"]["partitionKey"]
