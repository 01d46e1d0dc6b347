"""The same account, written the way the `eventsourcing` library (9.3) does it by default: a
declarative aggregate, full replay on every load (no snapshots), and whatever persistence module
the environment names (`eventsourcing_dynamodb`, or the in-memory POPO recorder by default).

Imported only by the benchmark; `eventsourcing` comes from the `bench` extra.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from lambdas.banking.rules import MAX_AMOUNT, MAX_BALANCE, MIN_AMOUNT


class AccountRuleError(Exception):
    def __init__(self, account_id: UUID, rule: str) -> None:
        super().__init__(f"{account_id}: {rule}")
        self.account_id = account_id
        self.rule = rule


class Account(Aggregate):
    @staticmethod
    def create_id(key: str, owner_id: str, currency: str, initial_deposit: int) -> UUID:
        return account_uuid(key)

    @event("Opened")
    def __init__(self, key: str, owner_id: str, currency: str, initial_deposit: int) -> None:
        self.key = key
        self.owner_id = owner_id
        self.currency = currency
        self.balance = initial_deposit
        self.closed = False

    def deposit(self, amount: int) -> None:
        self._require_open()
        _require_amount(self.id, amount)
        if self.balance + amount > MAX_BALANCE:
            raise AccountRuleError(self.id, "BalanceLimitExceeded")
        self._deposited(amount)

    def withdraw(self, amount: int) -> None:
        self._require_open()
        _require_amount(self.id, amount)
        if self.balance < amount:
            raise AccountRuleError(self.id, "InsufficientFunds")
        self._withdrawn(amount)

    @event("Deposited")
    def _deposited(self, amount: int) -> None:
        self.balance += amount

    @event("Withdrawn")
    def _withdrawn(self, amount: int) -> None:
        self.balance -= amount

    def _require_open(self) -> None:
        if self.closed:
            raise AccountRuleError(self.id, "AccountClosed")


def _require_amount(account_id: UUID, amount: int) -> None:
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise AccountRuleError(account_id, "ValidationError")


def account_uuid(key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"tenantry-bench/{key}")


class Bank(Application):
    def open_account(self, key: str, owner_id: str, currency: str, initial_deposit: int) -> None:
        self.save(Account(key, owner_id, currency, initial_deposit))

    def deposit(self, key: str, amount: int) -> None:
        account: Account = self.repository.get(account_uuid(key))
        account.deposit(amount)
        self.save(account)

    def withdraw(self, key: str, amount: int) -> None:
        account: Account = self.repository.get(account_uuid(key))
        account.withdraw(amount)
        self.save(account)

    def balance(self, key: str) -> int:
        return self.repository.get(account_uuid(key)).balance


def create_dynamodb_table(client: Any, name: str) -> str:
    """The table layout `eventsourcing_dynamodb` expects (it does not create one itself)."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "originator_id", "KeyType": "HASH"},
            {"AttributeName": "originator_version", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "originator_id", "AttributeType": "S"},
            {"AttributeName": "originator_version", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def dynamodb_bank(table_name: str) -> Bank:
    return Bank(env={"PERSISTENCE_MODULE": "eventsourcing_dynamodb", "DYNAMO_TABLE": table_name})


def popo_bank() -> Bank:
    return Bank(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
