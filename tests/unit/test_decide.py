"""The account rules of DESIGN section 3, as pure GIVEN/WHEN/THEN decisions (no store, no moto)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lambdas.banking import rules
from lambdas.banking.commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.decide import decide, decide_transfer
from lambdas.banking.errors import (
    AccountAlreadyExistsError,
    AccountClosedError,
    AccountNotFoundError,
    BalanceLimitExceededError,
    CurrencyMismatchError,
    InsufficientFundsError,
    NonZeroBalanceError,
)
from lambdas.banking.events import AccountClosed, AccountOpened, MoneyDeposited, MoneyWithdrawn, TransferReceived, TransferSent
from lambdas.banking.state import CLOSED, OPEN, AccountState, evolve, initial

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]


def given(*events, account_id="a1") -> AccountState:
    state = initial(account_id)
    for event in events:
        state = evolve(state, event)
    return state


OPENED = AccountOpened(account_id="a1", owner_id="alice", currency="EUR")


def test_open_a_new_account():
    assert decide(given(), OpenAccount(ownerId="alice", currency="EUR", commandId="c1", initialDeposit=5)) == [
        AccountOpened(account_id="a1", owner_id="alice", currency="EUR", initial_deposit=5)
    ]


def test_open_an_existing_account_is_refused():
    with pytest.raises(AccountAlreadyExistsError) as caught:
        decide(given(OPENED), OpenAccount(ownerId="bob", currency="EUR", commandId="c2"))
    assert caught.value.error_type == "AccountAlreadyExists"


def test_deposit_then_withdraw_moves_the_balance():
    state = given(OPENED, MoneyDeposited(amount=100))
    assert decide(state, Withdraw(accountId="a1", amount=40, commandId="w")) == [MoneyWithdrawn(amount=40)]
    assert evolve(state, MoneyWithdrawn(amount=40)).balance == 60


@pytest.mark.parametrize("command", [
    Deposit(accountId="a1", amount=1, commandId="d"),
    Withdraw(accountId="a1", amount=1, commandId="w"),
    CloseAccount(accountId="a1", commandId="x"),
])
def test_commands_on_a_missing_account_are_refused(command):
    with pytest.raises(AccountNotFoundError):
        decide(given(), command)


@pytest.mark.parametrize("command", [
    Deposit(accountId="a1", amount=1, commandId="d"),
    Withdraw(accountId="a1", amount=1, commandId="w"),
    CloseAccount(accountId="a1", commandId="x"),
])
def test_commands_on_a_closed_account_are_refused(command):
    with pytest.raises(AccountClosedError):
        decide(given(OPENED, AccountClosed()), command)


def test_withdraw_more_than_the_balance_is_refused():
    with pytest.raises(InsufficientFundsError) as caught:
        decide(given(OPENED, MoneyDeposited(amount=10)), Withdraw(accountId="a1", amount=11, commandId="w"))
    assert (caught.value.balance, caught.value.amount) == (10, 11)


def test_deposit_past_the_balance_limit_is_refused():
    state = given(OPENED, MoneyDeposited(amount=rules.MAX_BALANCE - 5))
    assert decide(state, Deposit(accountId="a1", amount=5, commandId="d"))
    with pytest.raises(BalanceLimitExceededError):
        decide(state, Deposit(accountId="a1", amount=6, commandId="d"))


def test_close_only_at_zero():
    with pytest.raises(NonZeroBalanceError) as caught:
        decide(given(OPENED, MoneyDeposited(amount=1)), CloseAccount(accountId="a1", commandId="x"))
    assert caught.value.error_type == "ValidationError"
    closed = decide(given(OPENED), CloseAccount(accountId="a1", commandId="x"))
    assert closed == [AccountClosed()] and evolve(given(OPENED), closed[0]).status == CLOSED


def test_transfer_produces_both_sides():
    source = given(OPENED, MoneyDeposited(amount=50))
    target = given(AccountOpened(account_id="b1", owner_id="bob", currency="EUR"), account_id="b1")
    sent, received = decide_transfer(source, target, Transfer(fromAccountId="a1", toAccountId="b1", amount=20, commandId="t"), "t1")
    assert sent == [TransferSent(transfer_id="t1", to_account_id="b1", amount=20)]
    assert received == [TransferReceived(transfer_id="t1", from_account_id="a1", amount=20)]


def test_transfer_across_currencies_is_refused():
    source = given(OPENED, MoneyDeposited(amount=50))
    target = given(AccountOpened(account_id="b1", owner_id="bob", currency="USD"), account_id="b1")
    with pytest.raises(CurrencyMismatchError):
        decide_transfer(source, target, Transfer(fromAccountId="a1", toAccountId="b1", amount=20, commandId="t"), "t1")


def test_transfer_checks_the_target_too():
    source = given(OPENED, MoneyDeposited(amount=50))
    with pytest.raises(AccountNotFoundError):
        decide_transfer(source, initial("b1"), Transfer(fromAccountId="a1", toAccountId="b1", amount=20, commandId="t"), "t1")
    full = given(AccountOpened(account_id="b1", owner_id="b", currency="EUR"), MoneyDeposited(amount=rules.MAX_BALANCE), account_id="b1")
    with pytest.raises(BalanceLimitExceededError):
        decide_transfer(source, full, Transfer(fromAccountId="a1", toAccountId="b1", amount=20, commandId="t"), "t1")


@pytest.mark.parametrize("fields, field", [
    ({"accountId": "a1", "amount": 0, "commandId": "c"}, "amount"),
    ({"accountId": "a1", "amount": rules.MAX_AMOUNT + 1, "commandId": "c"}, "amount"),
    ({"accountId": "a 1", "amount": 1, "commandId": "c"}, "accountId"),
    ({"accountId": "a" * 65, "amount": 1, "commandId": "c"}, "accountId"),
    ({"accountId": "a1", "amount": 1, "commandId": "c/1"}, "commandId"),
    ({"accountId": "a1", "amount": 1, "commandId": "c", "expectedVersion": -1}, "expectedVersion"),
    ({"accountId": "a1", "amount": 1, "commandId": "c", "colour": "red"}, "colour"),
    ({"accountId": "a1", "amount": "5", "commandId": "c"}, "amount"),
])
def test_invalid_money_commands_name_the_field(fields, field):
    with pytest.raises(ValidationError) as caught:
        Deposit.model_validate(fields)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", ""])
def test_currency_must_be_an_iso_code(currency):
    with pytest.raises(ValidationError):
        OpenAccount(ownerId="alice", currency=currency, commandId="c")


def test_transfer_to_the_same_account_is_invalid():
    with pytest.raises(ValidationError):
        Transfer(fromAccountId="a1", toAccountId="a1", amount=1, commandId="c")


def test_opened_account_state():
    assert given(OPENED, MoneyDeposited(amount=3)) == AccountState("a1", OPEN, "alice", "EUR", 3)
