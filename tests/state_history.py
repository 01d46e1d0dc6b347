"""Event logs made by the real domain, for the state tests and the restore benchmark.

`history` runs opens, deposits, withdrawals and transfers through `BankingService` on the in-memory
store and returns the event items the DynamoDB store would have written (snapshots included), so
a fixture cannot drift from what `tenantry dev` logs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from lambdas.banking.commands import Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.errors import DomainError
from lambdas.banking.service import BankingService
from lambdas.eventstore import items
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.memory import InMemoryEventStore
from tenantry.local.state.log import header, item_line

Item = dict[str, Any]


def history(tenant: str, events: int, accounts: int = 50, seed: int = 7) -> list[Item]:
    """About `events` event items of `accounts` accounts, in append order."""
    rng = random.Random(seed)
    store = InMemoryEventStore()
    service = BankingService(store, tenant)
    ctx = CommandContext("state-test")
    ids = [f"acc-{n}" for n in range(accounts)]
    for aid in ids:
        service.open_account(OpenAccount(accountId=aid, ownerId=f"owner-{aid}", currency="EUR",
                                         initialDeposit=10_000, commandId=f"open-{aid}"), ctx)
    order = [(aid, 1) for aid in ids]
    n = 0
    while len(order) < events:
        n += 1
        kind, aid, other = rng.choice(("deposit", "withdraw", "transfer")), *rng.sample(ids, 2)
        try:
            if kind == "deposit":
                r = service.deposit(Deposit(accountId=aid, amount=rng.randint(1, 500), commandId=f"c{n}"), ctx)
                order.append((aid, r.version))
            elif kind == "withdraw":
                r = service.withdraw(Withdraw(accountId=aid, amount=rng.randint(1, 500), commandId=f"c{n}"), ctx)
                order.append((aid, r.version))
            else:
                t = service.transfer(Transfer(fromAccountId=aid, toAccountId=other, amount=rng.randint(1, 500),
                                              commandId=f"c{n}"), ctx)
                order += [(aid, t.from_.version), (other, t.to.version)]
        except DomainError:
            pass
    return [_item(store, aid, version) for aid, version in order]


def _item(store: InMemoryEventStore, aggregate_id: str, version: int) -> Item:
    stored = next(store.read(aggregate_id, from_version=version, to_version=version))
    return items.encode(stored.envelope, stored.snapshot)


def write_log(path: Path, tenant: str, event_items: list[Item]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header(tenant) + b"".join(item_line(i) for i in event_items))
    return path
