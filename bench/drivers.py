"""One driver per measured design, all with the same small interface, so the workload, the
history probe and the two-writer probe run the same code against each of them.

A "race" is the two-writer probe: writer A loads the account and decides a deposit; before A
appends, writer B loads the same state, decides its own deposit and appends. Then A appends.
It returns the amounts whose command was acknowledged; the caller compares with the balance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from lambdas.banking.commands import Deposit, OpenAccount, Withdraw
from lambdas.banking.service import BankingService
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.memory import InMemoryEventStore
from lambdas.eventstore.repository import DEFAULT_SNAPSHOT_INTERVAL
from lambdas.eventstore.store import AppendRequest, EventStore

from .ids import DEFAULT, IdProfile
from .metering import Meter
from .peers import eventsourcing_bank as es
from .peers import naive

OWNER, CURRENCY, INITIAL_DEPOSIT = "owner-0001", "EUR", 100_000


class Driver(Protocol):
    name: str
    meter: Meter
    grows_by_commands: bool      # True: `grow` is a run of real single-event commands (metered)

    def open(self, key: str) -> None: ...
    def deposit(self, key: str, amount: int) -> None: ...
    def withdraw(self, key: str, amount: int) -> None: ...
    def balance(self, key: str) -> int: ...
    def grow(self, key: str, events: int) -> None: ...
    def race(self, key: str, first: int, second: int) -> list[int]: ...


def _command_id() -> str:
    return str(uuid.uuid4())


def _context() -> CommandContext:
    # As the command Lambda builds it: API-key actor, AppSync request id as correlation id.
    return CommandContext(actor="api-key", correlation_id=str(uuid.uuid4()))


# -- ours ---------------------------------------------------------------------------------------
class _InterleavingStore:
    """Runs `before_first_append` once, just before the first append goes to the inner store."""

    def __init__(self, inner: EventStore, before_first_append: Callable[[], None]) -> None:
        self.inner = inner
        self.pending: Callable[[], None] | None = before_first_append

    def append(self, request: AppendRequest) -> None:
        self._interleave()
        self.inner.append(request)

    def append_atomically(self, requests: Sequence[AppendRequest]) -> None:
        self._interleave()
        self.inner.append_atomically(requests)

    def read_backward(self, aggregate_id: str, *, before_version: int | None, limit: int):
        return self.inner.read_backward(aggregate_id, before_version=before_version, limit=limit)

    def read(self, aggregate_id: str, *, from_version: int = 1, to_version: int | None = None):
        return self.inner.read(aggregate_id, from_version=from_version, to_version=to_version)

    def _interleave(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending()


class TenantryDriver:
    grows_by_commands = True

    def __init__(self, store: EventStore, name: str = "tenantry", meter: Meter | None = None,
                 profile: IdProfile = DEFAULT) -> None:
        self.name = name
        self.store = store
        self.meter = meter or Meter()
        self.tenant = profile.tenant
        self.ids = profile.ids()
        self.service = BankingService(store, self.tenant, snapshot_interval=DEFAULT_SNAPSHOT_INTERVAL)

    @classmethod
    def on_dynamodb(cls, client: Any, table: str, profile: IdProfile = DEFAULT, name: str = "tenantry") -> TenantryDriver:
        meter = Meter()
        meter.attach(client)
        return cls(DynamoDBEventStore(table, client, tenant_id=profile.tenant), name=name, meter=meter, profile=profile)

    @classmethod
    def in_memory(cls) -> TenantryDriver:
        return cls(InMemoryEventStore(), name="tenantry_inmemory")

    def open(self, key: str) -> None:
        cmd = OpenAccount(account_id=key, owner_id=OWNER, currency=CURRENCY,
                          initial_deposit=INITIAL_DEPOSIT, command_id=self.ids.command())
        self.service.open_account(cmd, _context())

    def deposit(self, key: str, amount: int) -> None:
        self._deposit(self.service, key, amount)

    def withdraw(self, key: str, amount: int) -> None:
        self.service.withdraw(Withdraw(account_id=key, amount=amount, command_id=self.ids.command()), _context())

    def balance(self, key: str) -> int:
        view = self.service.account_at(key)
        return view.balance if view else 0

    def grow(self, key: str, events: int) -> None:
        for _ in range(events):
            self.deposit(key, 1)

    def race(self, key: str, first: int, second: int) -> list[int]:
        acknowledged: list[int] = []

        def writer_b() -> None:
            self._deposit(self.service, key, second)
            acknowledged.append(second)

        writer_a = BankingService(_InterleavingStore(self.store, writer_b), self.tenant,
                                  snapshot_interval=DEFAULT_SNAPSHOT_INTERVAL)
        self._deposit(writer_a, key, first)
        acknowledged.append(first)
        return acknowledged

    def _deposit(self, service: BankingService, key: str, amount: int) -> None:
        service.deposit(Deposit(account_id=key, amount=amount, command_id=self.ids.command()), _context())


# -- eventsourcing ------------------------------------------------------------------------------
class EventsourcingDriver:
    grows_by_commands = False

    def __init__(self, bank_factory: Callable[[], es.Bank], name: str, meter: Meter | None = None) -> None:
        self.name = name
        self.bank_factory = bank_factory
        self.bank = bank_factory()
        self.meter = meter or Meter()

    @classmethod
    def on_dynamodb(cls, client: Any, table: str) -> EventsourcingDriver:
        es.create_dynamodb_table(client, table)
        meter = Meter()

        def factory() -> es.Bank:
            bank = es.dynamodb_bank(table)
            meter.attach(bank.recorder.dynamo_resource.meta.client)
            return bank

        return cls(factory, "eventsourcing_dynamodb", meter)

    @classmethod
    def on_popo(cls) -> EventsourcingDriver:
        return cls(es.popo_bank, "eventsourcing_popo")

    def open(self, key: str) -> None:
        self.bank.open_account(key, OWNER, CURRENCY, INITIAL_DEPOSIT)

    def deposit(self, key: str, amount: int) -> None:
        self.bank.deposit(key, amount)

    def withdraw(self, key: str, amount: int) -> None:
        self.bank.withdraw(key, amount)

    def balance(self, key: str) -> int:
        return self.bank.balance(key)

    def grow(self, key: str, events: int) -> None:
        # Batched (one save per 500 events): building the history is not what is measured.
        while events > 0:
            account = self.bank.repository.get(es.account_uuid(key))
            for _ in range(min(events, 500)):
                account.deposit(1)
            self.bank.save(account)
            events -= 500

    def race(self, key: str, first: int, second: int) -> list[int]:
        writer_b = self.bank_factory()   # a second application (process) on the same table
        a = self.bank.repository.get(es.account_uuid(key))
        b = writer_b.repository.get(es.account_uuid(key))
        a.deposit(first)
        b.deposit(second)
        writer_b.save(b)
        self.bank.save(a)          # unconditional BatchWrite: overwrites B's event, no error
        return [second, first]


# -- naive --------------------------------------------------------------------------------------
class _RacingNaiveBank(naive.NaiveBank):
    def __init__(self, inner: naive.NaiveBank, before_first_append: Callable[[], None]) -> None:
        super().__init__(inner.dynamodb, inner.kinesis, inner.table, inner.stream)
        self.pending: Callable[[], None] | None = before_first_append

    def append(self, *args: Any, **kwargs: Any) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending()
        super().append(*args, **kwargs)


class NaiveDriver:
    name = "naive"
    grows_by_commands = False

    def __init__(self, dynamodb: Any, kinesis: Any, table: str, stream: str) -> None:
        self.meter = Meter()
        self.meter.attach(dynamodb)
        self.meter.attach(kinesis)
        self.bank = naive.NaiveBank(dynamodb, kinesis, naive.create_table(dynamodb, table),
                                    naive.create_stream(kinesis, stream))

    def open(self, key: str) -> None:
        self.bank.open_account(key, OWNER, CURRENCY, INITIAL_DEPOSIT, _command_id())

    def deposit(self, key: str, amount: int) -> None:
        self.bank.deposit(key, amount, _command_id())

    def withdraw(self, key: str, amount: int) -> None:
        self.bank.withdraw(key, amount, _command_id())

    def balance(self, key: str) -> int:
        return self.bank.balance(key)

    def grow(self, key: str, events: int) -> None:
        self.bank.seed_deposits(key, events, amount=1)

    def race(self, key: str, first: int, second: int) -> list[int]:
        acknowledged: list[int] = []

        def writer_b() -> None:
            self.bank.deposit(key, second, _command_id())
            acknowledged.append(second)

        _RacingNaiveBank(self.bank, writer_b).deposit(key, first, _command_id())
        acknowledged.append(first)
        return acknowledged
