"""Account state and its fold. `evolve` is pure and total over the account events: it trusts
them (they were decided against the same rules) and never raises for a known event."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from lambdas.eventstore.aggregate import StateCodec
from lambdas.eventstore.events import DomainEvent

from .events import AccountClosed, AccountOpened, MoneyDeposited, MoneyWithdrawn, TransferReceived, TransferSent

NEW, OPEN, CLOSED = "NEW", "OPEN", "CLOSED"


@dataclass(frozen=True, slots=True)
class AccountState:
    account_id: str
    status: str = NEW
    owner_id: str = ""
    currency: str = ""
    balance: int = 0


def initial(account_id: str) -> AccountState:
    return AccountState(account_id)


def evolve(state: AccountState, event: DomainEvent) -> AccountState:
    replace = dataclasses.replace
    match event:
        case MoneyDeposited(amount=amount) | TransferReceived(amount=amount):
            return replace(state, balance=state.balance + amount)
        case MoneyWithdrawn(amount=amount) | TransferSent(amount=amount):
            return replace(state, balance=state.balance - amount)
        case AccountOpened():
            return AccountState(event.account_id, OPEN, event.owner_id, event.currency, event.initial_deposit)
        case AccountClosed():
            return replace(state, status=CLOSED)
    raise TypeError(f"not an account event: {event!r}")


def summarize(state: AccountState) -> int:
    """What a repeated command returns besides the version: the balance at that time."""
    return state.balance


def _to_data(state: AccountState) -> dict[str, Any]:
    return {"i": state.account_id, "st": state.status, "o": state.owner_id, "cu": state.currency, "b": state.balance}


def _from_data(data: dict[str, Any]) -> AccountState:
    return AccountState(data["i"], data["st"], data["o"], data["cu"], data["b"])


def _schema_fingerprint() -> str:
    shape = ";".join(f"{f.name}:{f.type}" for f in dataclasses.fields(AccountState)) + "|" + ",".join(
        sorted(_to_data(AccountState("x")))
    )
    return hashlib.blake2b(shape.encode(), digest_size=6).hexdigest()


CODEC = StateCodec(to_data=_to_data, from_data=_from_data, schema=_schema_fingerprint())
