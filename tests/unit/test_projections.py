"""The account projection (pure fold) and the projection runtime on in-memory adapters."""

from __future__ import annotations

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.commands import Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.projections import ACCOUNTS, account_update
from lambdas.banking.service import BankingService
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.memory import InMemoryEventStore
from lambdas.eventstore.projection import (
    Commit,
    InMemoryReadModel,
    ProjectionRuntime,
    ReadModelConflictError,
    fold_store,
)
from lambdas.handlers.appsync_publisher import RecordingPublisher

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]
CTX = CommandContext(actor="test")


@pytest.fixture
def store() -> InMemoryEventStore:
    store = InMemoryEventStore()
    bank = BankingService(store, "acme")
    bank.open_account(OpenAccount(account_id="a", owner_id="alice", currency="EUR", initial_deposit=100, command_id="c1"), CTX)
    bank.open_account(OpenAccount(account_id="b", owner_id="bob", currency="EUR", command_id="c2"), CTX)
    bank.deposit(Deposit(account_id="a", amount=50, command_id="c3"), CTX)
    bank.transfer(Transfer(from_account_id="a", to_account_id="b", amount=30, command_id="c4"), CTX)
    bank.withdraw(Withdraw(account_id="b", amount=10, command_id="c5"), CTX)
    return store


def envelopes(store: InMemoryEventStore, aggregate_id: str) -> list:
    return [s.envelope for s in store.read(aggregate_id)]


def test_fold_gives_account_row_and_one_ledger_entry_per_event(store):
    # WHEN
    row, entries = ACCOUNTS.fold(None, envelopes(store, "a"))
    # THEN
    assert set(row) == set(rk.ACCOUNT_FIELDS)
    assert (row["balance"], row["version"], row["status"], row["ownerId"]) == (120, 3, "OPEN", "alice")
    assert [e["kind"] for e in entries] == ["OPENED", "DEPOSIT", "TRANSFER_OUT"]
    assert [e["balanceAfter"] for e in entries] == [100, 150, 120]
    assert entries[2]["counterpartyAccountId"] == "b"
    assert all(set(e) <= set(rk.LEDGER_ATTRIBUTES) for e in entries)
    # AND every entry names the account's owner, for Query.ledger's ownership check
    assert {e[rk.LEDGER_OWNER] for e in entries} == {"alice"}


def test_account_update_has_every_subscription_field(store):
    row, _ = ACCOUNTS.fold(None, envelopes(store, "b"))
    assert account_update(row) == {"accountId": "b", "balance": 20, "version": 3, "status": "OPEN",
                                   "updatedAt": row["updatedAt"], "ownerId": row["ownerId"]}


def test_batch_is_coalesced_into_one_commit_and_one_publish_per_account(store):
    # GIVEN
    read_model, publisher = InMemoryReadModel(), RecordingPublisher()
    runtime = ProjectionRuntime(ACCOUNTS, read_model, store, publisher)
    batch = envelopes(store, "a") + envelopes(store, "b")
    # WHEN
    outcome = runtime.project(batch)
    # THEN
    assert outcome.failed == {}
    assert read_model.commits == 2 and outcome.stats.commits == 2
    assert [p["accountId"] for p in publisher.published] == ["a", "b"]
    assert (read_model.rows, read_model.entries) == fold_store(ACCOUNTS, store, ["a", "b"])


def test_aggregates_projected_in_parallel_give_the_same_read_model(store):
    # GIVEN a batch over two accounts, one with a gap, and a runtime projecting accounts in threads
    read_model, publisher = InMemoryReadModel(), RecordingPublisher()
    runtime = ProjectionRuntime(ACCOUNTS, read_model, store, publisher, concurrency=4)
    batch = envelopes(store, "a")[::2] + envelopes(store, "b")
    # WHEN
    outcome = runtime.project(batch)
    # THEN the read model is the fold of the store, with one commit and one publish per account
    assert outcome.failed == {}
    assert (outcome.stats.commits, outcome.stats.publishes) == (2, 2)
    assert sorted(p["accountId"] for p in publisher.published) == ["a", "b"]
    assert (read_model.rows, read_model.entries) == fold_store(ACCOUNTS, store, ["a", "b"])


def test_duplicates_are_skipped_and_gaps_filled_from_the_store(store):
    # GIVEN a read model at a v1 and a batch holding only a v1 (duplicate) and a v3
    read_model = InMemoryReadModel()
    runtime = ProjectionRuntime(ACCOUNTS, read_model, store)
    a = envelopes(store, "a")
    runtime.project(a[:1])
    # WHEN
    outcome = runtime.project([a[0], a[2]])
    # THEN v2 came from the event store
    assert outcome.stats.events_filled == 1
    assert read_model.rows["a"]["version"] == 3
    assert (read_model.rows, read_model.entries) == fold_store(ACCOUNTS, store, ["a"])


def test_a_failing_aggregate_does_not_stop_the_others(store):
    # GIVEN a publisher that fails for b
    publisher = RecordingPublisher()
    publisher.fail_for = {"b"}
    runtime = ProjectionRuntime(ACCOUNTS, InMemoryReadModel(), store, publisher)
    # WHEN
    outcome = runtime.project(envelopes(store, "a") + envelopes(store, "b"))
    # THEN
    assert set(outcome.failed) == {"b"}
    assert publisher.latest()["a"]["version"] == 3


def test_redelivered_head_is_published_again(store):
    # GIVEN a committed batch whose publish failed
    publisher = RecordingPublisher()
    publisher.fail_for = {"a"}
    runtime = ProjectionRuntime(ACCOUNTS, InMemoryReadModel(), store, publisher)
    runtime.project(envelopes(store, "a"))
    publisher.fail_for = set()
    # WHEN the same batch is redelivered
    outcome = runtime.project(envelopes(store, "a"))
    # THEN nothing is rewritten, but the latest state is published
    assert outcome.stats.commits == 0
    assert publisher.latest()["a"]["version"] == 3


def test_commit_is_conditional_on_the_stored_version(store):
    read_model = InMemoryReadModel()
    row, entries = ACCOUNTS.fold(None, envelopes(store, "a"))
    read_model.commit(Commit("a", 0, row, tuple(entries)))
    with pytest.raises(ReadModelConflictError) as info:
        read_model.commit(Commit("a", 0, row, tuple(entries)))
    assert info.value.expected_version == 0


def test_poisoned_aggregate_fails_while_others_flow(store):
    runtime = ProjectionRuntime(ACCOUNTS, InMemoryReadModel(), store)
    outcome = runtime.project(envelopes(store, "a") + envelopes(store, "b"), poisoned={"b"})
    assert set(outcome.failed) == {"b"} and set(outcome.committed) == {"a"}
