"""Properties of the account rules over arbitrary command sequences (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.banking import rules
from lambdas.banking.commands import Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.errors import DomainError
from lambdas.banking.service import BankingService
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.memory import InMemoryEventStore

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]

ACCOUNTS = ("a", "b")
amounts = st.one_of(st.integers(1, 1000), st.integers(rules.MAX_AMOUNT // 2, rules.MAX_AMOUNT))
operations = st.lists(
    st.tuples(st.sampled_from(["deposit", "withdraw", "transfer"]), st.sampled_from(ACCOUNTS), amounts), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(operations, st.integers(1, 7))
def test_balance_is_the_sum_of_accepted_operations_and_stays_in_bounds(ops, snapshot_interval):
    # GIVEN two open accounts
    store = InMemoryEventStore()
    service = BankingService(store, "acme", snapshot_interval=snapshot_interval)
    ctx = CommandContext("prop")
    for aid in ACCOUNTS:
        service.open_account(OpenAccount(accountId=aid, ownerId="o", currency="EUR", commandId=f"open-{aid}"), ctx)
    expected = dict.fromkeys(ACCOUNTS, 0)
    # WHEN any sequence of commands runs (some are refused)
    for i, (kind, aid, amount) in enumerate(ops):
        other = "b" if aid == "a" else "a"
        try:
            if kind == "deposit":
                service.deposit(Deposit(accountId=aid, amount=amount, commandId=f"c{i}"), ctx)
                expected[aid] += amount
            elif kind == "withdraw":
                service.withdraw(Withdraw(accountId=aid, amount=amount, commandId=f"c{i}"), ctx)
                expected[aid] -= amount
            else:
                service.transfer(Transfer(fromAccountId=aid, toAccountId=other, amount=amount, commandId=f"c{i}"), ctx)
                expected[aid] -= amount
                expected[other] += amount
        except DomainError:
            pass
        # THEN every balance equals accepted deposits - withdrawals +/- transfers, within 0..limit
        for account in ACCOUNTS:
            balance = service.account_at(account).balance
            assert balance == expected[account]
            assert 0 <= balance <= rules.MAX_BALANCE


@settings(max_examples=30, deadline=None)
@given(operations, st.integers(1, 7), st.integers(1, 7))
def test_folding_is_deterministic_whatever_the_snapshot_interval(ops, interval_a, interval_b):
    # GIVEN the same history written under one snapshot interval
    store = InMemoryEventStore()
    writer = BankingService(store, "acme", snapshot_interval=interval_a)
    ctx = CommandContext("prop")
    writer.open_account(OpenAccount(accountId="a", ownerId="o", currency="EUR", commandId="open"), ctx)
    for i, (kind, _, amount) in enumerate(ops):
        command = Deposit if kind != "withdraw" else Withdraw
        try:
            getattr(writer, "deposit" if command is Deposit else "withdraw")(command(accountId="a", amount=amount, commandId=f"c{i}"), ctx)
        except DomainError:
            pass
    # WHEN it is loaded from snapshots, by a reader with another interval, and by a full replay
    reader = BankingService(store, "acme", snapshot_interval=interval_b)
    loads = [writer.accounts.load("a"), reader.accounts.load("a"), writer.accounts.replay("a")]
    # THEN every fold agrees
    assert len({(one.state, one.version) for one in loads}) == 1
