"""Account events: facts, in the past tense. Every change to a shape bumps `schema_version`, keeps
the old JSON Schema in schemas/events/ and registers an upcaster (see `upcasters` below)."""

from __future__ import annotations

from typing import Any

from lambdas.eventstore.events import DomainEvent, EventRegistry


class AccountOpened(DomainEvent):
    schema_version = 2
    account_id: str
    owner_id: str
    currency: str
    initial_deposit: int = 0


class MoneyDeposited(DomainEvent):
    amount: int


class MoneyWithdrawn(DomainEvent):
    amount: int


class TransferSent(DomainEvent):
    transfer_id: str
    to_account_id: str
    amount: int


class TransferReceived(DomainEvent):
    transfer_id: str
    from_account_id: str
    amount: int


class AccountClosed(DomainEvent):
    pass


ACCOUNT_EVENTS = (AccountOpened, MoneyDeposited, MoneyWithdrawn, TransferSent, TransferReceived, AccountClosed)
registry = EventRegistry(ACCOUNT_EVENTS)


@registry.upcaster("AccountOpened", from_version=1)
def _account_opened_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 called the owner `owner` and could not open with money in it.
    data["owner_id"] = data.pop("owner")
    data.setdefault("initial_deposit", 0)
    return data
