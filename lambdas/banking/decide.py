"""Pure decisions: given the current state and a (valid) command, which events happen, or which
rule says no. No I/O, no clock, no boto3."""

from __future__ import annotations

from . import rules
from .commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from .errors import (
    AccountAlreadyExistsError,
    AccountClosedError,
    AccountNotFoundError,
    BalanceLimitExceededError,
    CurrencyMismatchError,
    InsufficientFundsError,
    NonZeroBalanceError,
)
from .events import AccountClosed, AccountOpened, MoneyDeposited, MoneyWithdrawn, TransferReceived, TransferSent
from .state import CLOSED, NEW, AccountState

Command = OpenAccount | Deposit | Withdraw | CloseAccount


def decide(state: AccountState, command: Command) -> list:
    match command:
        case OpenAccount():
            if state.status != NEW:
                raise AccountAlreadyExistsError(state.account_id)
            return [AccountOpened(
                account_id=state.account_id, owner_id=command.owner_id, currency=command.currency,
                initial_deposit=command.initial_deposit or 0,
            )]
        case Deposit(amount=amount):
            _require_open(state)
            _require_room(state, amount)
            return [MoneyDeposited(amount=amount)]
        case Withdraw(amount=amount):
            _require_open(state)
            _require_funds(state, amount)
            return [MoneyWithdrawn(amount=amount)]
        case CloseAccount():
            _require_open(state)
            if state.balance != 0:
                raise NonZeroBalanceError(state.account_id, state.balance)
            return [AccountClosed()]
    raise TypeError(f"not an account command: {command!r}")


def decide_transfer(source: AccountState, target: AccountState, command: Transfer, transfer_id: str) -> tuple[list, list]:
    """Both sides or neither: every rule of both accounts is checked before any event exists."""
    amount = command.amount
    _require_open(source)
    _require_open(target)
    if source.currency != target.currency:
        raise CurrencyMismatchError(source.currency, target.currency)
    _require_funds(source, amount)
    _require_room(target, amount)
    return (
        [TransferSent(transfer_id=transfer_id, to_account_id=target.account_id, amount=amount)],
        [TransferReceived(transfer_id=transfer_id, from_account_id=source.account_id, amount=amount)],
    )


def _require_open(state: AccountState) -> None:
    if state.status == NEW:
        raise AccountNotFoundError(state.account_id)
    if state.status == CLOSED:
        raise AccountClosedError(state.account_id)


def _require_funds(state: AccountState, amount: int) -> None:
    if state.balance < amount:
        raise InsufficientFundsError(state.account_id, state.balance, amount)


def _require_room(state: AccountState, amount: int) -> None:
    if state.balance + amount > rules.MAX_BALANCE:
        raise BalanceLimitExceededError(state.account_id, state.balance, amount, rules.MAX_BALANCE)
