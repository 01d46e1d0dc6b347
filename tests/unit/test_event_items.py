"""Event items as DynamoDB stores them: compact metadata that reads back exactly, and every older
item shape still read (stored items are never rewritten)."""

from __future__ import annotations

import json

import pytest

from bench.sizing import item_size
from lambdas.banking.aggregate import ACCOUNT
from lambdas.banking.commands import Deposit, OpenAccount
from lambdas.banking.service import BankingService
from lambdas.eventstore import items
from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.errors import CorruptEventError
from lambdas.eventstore.hashing import command_key
from lambdas.eventstore.memory import InMemoryEventStore
from lambdas.eventstore.repository import Repository
from lambdas.eventstore.store import AppendRequest, Snapshot

pytestmark = pytest.mark.unit

UUID = "0b8f8a47-6c1d-4d55-9f3a-2a1f7f3e9c11"
TENANT = "t" + "x" * 30


def envelope(**overrides) -> EventEnvelope:
    fields = dict(aggregate_id="A" * 64, aggregate_type="Account", version=7, event_id=UUID, event_type="MoneyDeposited",
                  schema_version=1, occurred_at="2024-05-01T12:00:00.123456Z", tenant_id=TENANT, command_id="C" * 64,
                  correlation_id="5e7c2c1a-8a7e-4c55-b1b0-0d7f3a6b2e90", causation_id="C" * 64, actor="api-key",
                  data={"amount": 101}, payload_hash="0123456789ab")
    return EventEnvelope(**(fields | overrides))


@pytest.mark.parametrize("overrides", [
    {},
    {"event_id": UUID.upper(), "command_id": UUID, "correlation_id": "req-1", "causation_id": "x"},
    {"schema_version": 2, "occurred_at": "0001-01-01T00:00:00.000000Z", "payload_hash": ""},
    {"tenant_id": "other-tenant"},
])
def test_an_item_reads_back_as_the_envelope_it_was_written_from(overrides):
    # GIVEN an envelope (UUID and non-UUID ids, odd instants, another tenant than the table's)
    written = envelope(**overrides)
    # WHEN it is written to its tenant's table and read back THEN nothing changed
    item = items.encode(written, table_tenant=TENANT)
    assert items.decode(item, table_tenant=TENANT).envelope == written


def test_the_item_leaves_out_what_the_table_and_the_format_already_say():
    # GIVEN an item written to its own tenant's table
    meta = json.loads(items.encode(envelope(), table_tenant=TENANT)[k.META]["S"])
    # THEN no tenant, no schema version 1, a packed event id and an integer instant
    assert k.META_TENANT_ID not in meta and k.META_SCHEMA_VERSION not in meta
    assert len(meta[k.META_UUID_FORMS[k.META_EVENT_ID]]) == 22 and isinstance(meta[k.META_OCCURRED_AT], int)


def test_an_item_without_its_tenant_needs_its_tables_tenant_to_be_read():
    item = items.encode(envelope(), table_tenant=TENANT)
    with pytest.raises(CorruptEventError):
        items.decode(item)


def test_an_item_of_the_first_shape_still_reads():
    # GIVEN an item as written before the compact metadata (long keys, tenant, string instant)
    meta = {"t": "Account", "id": UUID, "sv": 1, "at": "2024-05-01T12:00:00.123456Z", "tn": TENANT,
            "c": "C" * 64, "ac": "api-key", "h": "0123456789ab", "co": "5e7c2c1a-8a7e-4c55-b1b0-0d7f3a6b2e90"}
    item = {k.PARTITION_KEY: {"S": "A" * 64}, k.SORT_KEY: {"N": "7"}, k.KIND: {"S": k.KIND_EVENT},
            k.EVENT_TYPE: {"S": "MoneyDeposited"}, k.DATA: {"S": '{"amount":101}'}, k.META: {"S": json.dumps(meta)}}
    # WHEN read by a store of another tenant or none THEN it is the same envelope
    assert items.decode(item).envelope == envelope()
    assert items.decode(item, table_tenant="acme").envelope == envelope()


def test_a_snapshot_listing_recent_command_ids_still_answers_a_retry():
    # GIVEN an account whose newest snapshot is of the first shape: recent command ids in "r"
    store = InMemoryEventStore()
    bank = BankingService(store, "acme", snapshot_interval=2)
    bank.open_account(OpenAccount(account_id="a", owner_id="o", currency="EUR", command_id="open"), _ctx())
    first = bank.deposit(Deposit(account_id="a", amount=5, command_id="dep"), _ctx())
    repo = Repository(store, ACCOUNT, tenant_id="acme", snapshot_interval=2)
    loaded = repo.load("a")
    new_shape = store.read_backward("a", before_version=None, limit=1)[0].snapshot
    old_state = {"s": new_shape.state["s"], "c": loaded.created_at, "u": loaded.updated_at,
                 "r": [["open", loaded.recent[command_key("open")].payload_hash, 1, 0],
                       ["dep", loaded.recent[command_key("dep")].payload_hash, 2, 5]]}
    old = _with_snapshot(store, "a", Snapshot(2, new_shape.schema, old_state))
    # WHEN the deposit is retried THEN it is recognised from the old snapshot, nothing is appended
    again = BankingService(old, "acme", snapshot_interval=2).deposit(
        Deposit(account_id="a", amount=5, command_id="dep"), _ctx())
    assert again == first and Repository(old, ACCOUNT, tenant_id="acme").load("a").version == 2


def test_the_load_window_stays_within_one_read_unit_at_the_longest_ids():
    # GIVEN the longest ids and tenant name, and the newest snapshot nine events back (the worst case)
    bank_store = InMemoryEventStore()
    bank = BankingService(bank_store, TENANT)
    bank.open_account(OpenAccount(account_id="A" * 64, owner_id="owner-0001", currency="EUR",
                                  command_id="O" * 64), _ctx())
    for n in range(28):
        bank.deposit(Deposit(account_id="A" * 64, amount=1, command_id=f"{n:064d}"), _ctx())
    window = bank_store.read_backward("A" * 64, before_version=None, limit=10)
    # WHEN its items are sized as DynamoDB bills them THEN one strongly consistent unit (4 KB),
    # with room for a longer actor, and every item (the snapshot's too) within one write unit
    sizes = [item_size(items.encode(s.envelope, s.snapshot, table_tenant=TENANT)) for s in window]
    assert any(s.snapshot for s in window)
    assert sum(sizes) <= 4096 - 10 * 40
    assert max(sizes) <= 1024


def _ctx():
    from lambdas.eventstore.envelope import CommandContext

    return CommandContext(actor="api-key", correlation_id="5e7c2c1a-8a7e-4c55-b1b0-0d7f3a6b2e90")


def _with_snapshot(store: InMemoryEventStore, aggregate_id: str, snapshot: Snapshot) -> InMemoryEventStore:
    """A copy of the aggregate's events with `snapshot` on the event it folds up to."""
    fresh = InMemoryEventStore()
    for stored in store.read(aggregate_id):
        mine = stored.envelope.version == snapshot.version
        fresh.append(AppendRequest(aggregate_id, stored.envelope.version - 1, [stored.envelope],
                                   snapshot if mine else stored.snapshot))
    return fresh
