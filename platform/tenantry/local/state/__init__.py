"""What `tenantry dev` keeps between runs: each tenant's event log, and only that.

Everything else is derived from it at start, the event-sourced way:
1. `restore`: the log (`.tenantry/state/<tenant>/events.jsonl`, `tenantry.local.state.log`) is
   read and checked (`tenantry.local.state.restore`) and its good events are put straight into
   the tenant's declared event table in moto, under the backend's lock and without stream
   records: the publisher does not see them again (no second trip through Kinesis, no live-update
   storm) and the log observer does not see them (they are not appended a second time);
2. `rebuild`: the projector's own code (`build_runtime`, idempotent and version-guarded, no
   publisher) folds them into the declared read models, through `tenantry.ops.replay.rebuild`,
   which also verifies every row and ledger entry against the event store.

Dev users keep their `sub` (`tenantry.local.state.users`), so restored accounts are still theirs.
Not kept: stream positions (DynamoDB Streams and Kinesis start empty; the read models are rebuilt
instead), failure queues, the S3 archive and spilled snapshots, API keys, dev users' passwords.
Which table is the event store and which are the read models comes from the declaration: the
functions' environment (`lambdas.handlers.settings`), as the Lambdas themselves learn it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdas.banking.projections import ACCOUNTS
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.projection import BatchOutcome, InMemoryReadModel, ProjectionRuntime
from lambdas.eventstore.readmodel_dynamodb import to_item
from lambdas.eventstore.store import StoredEvent
from lambdas.handlers import settings as env
from tenantry.local import activity
from tenantry.local.emulator import FAKE_ACCOUNT_ID, Emulator
from tenantry.local.model import LocalTenant
from tenantry.local.wiring import StartupError

from .log import EventLog, EventLogs
from .restore import HeldBack, LogProblem, Restored, read_log, set_aside
from .users import USERS_FILE, keep_subs

__all__ = ["DevState", "HeldBack", "LogProblem", "Restored", "StateInUseError", "TenantTables"]

log = logging.getLogger("tenantry.local.state")

EVENT_LOG = "events.jsonl"
LOCK_FILE = ".lock"


class StateInUseError(Exception):
    def __init__(self, directory: Path) -> None:
        super().__init__(f"{directory} is in use by another tenantry dev: stop it, or give this run "
                         "its own --state-dir")
        self.directory = directory


class UndeclaredEventStoreError(StartupError):
    """A StartupError: `tenantry dev` reports it like any declaration it cannot run."""

    def __init__(self, tenant: str, found: list[str]) -> None:
        super().__init__(tenant, f"expected one event table in the functions' {env.EVENTS_TABLE}, found {found}")
        self.found = found


@dataclass(frozen=True)
class TenantTables:
    events: str
    accounts: str | None            # the active read models (None: no projector declared)
    ledger: str | None

    @classmethod
    def declared(cls, local: LocalTenant) -> "TenantTables":
        environments = [f.environment for f in local.functions.values()]
        events = sorted({e[env.EVENTS_TABLE] for e in environments if e.get(env.EVENTS_TABLE)})
        if len(events) != 1:
            raise UndeclaredEventStoreError(local.tenant, events)
        projector = next((e for e in environments if e.get(env.ACCOUNTS_TABLE) and e.get(env.LEDGER_TABLE)), {})
        return cls(events[0], projector.get(env.ACCOUNTS_TABLE), projector.get(env.LEDGER_TABLE))


@dataclass(frozen=True)
class Rebuilt:
    aggregates: int
    events: int
    problem: str | None = None      # why (some of) the read models could not be rebuilt


class DevState:
    """The state directory of one run: locked for the run, one log per tenant."""

    def __init__(self, directory: Path, emulator: Emulator) -> None:
        self.directory = directory
        self.emulator = emulator
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:    # released by the kernel when the process ends, however it ends
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._lock)
            raise StateInUseError(directory) from exc
        self.logs = EventLogs()
        emulator.observe_writes(self.logs.observe)

    def discard(self, tenants: list[str]) -> list[Path]:
        """--fresh: remove what is kept of these tenants (the others' state stays); the folders removed."""
        removed = [self.directory / t for t in tenants if (self.directory / t).is_dir()]
        for folder in removed:
            shutil.rmtree(folder)
        return removed

    def log_path(self, tenant: str) -> Path:
        return self.directory / tenant / EVENT_LOG

    def restore(self, local: LocalTenant) -> tuple[Restored, Path | None]:
        """The tenant's good events into its event table; the log opened for appending. The
        damaged log's new place, when it had to be moved aside."""
        tables = TenantTables.declared(local)
        restored = read_log(self.log_path(local.tenant), local.tenant)
        aside = set_aside(restored, local.tenant) if restored.damaged else None
        put_quietly(self.emulator, local.region, tables.events, restored.items)
        self.logs.keep(tables.events, EventLog(self.log_path(local.tenant), local.tenant).start_syncing())
        return restored, aside

    def rebuild(self, local: LocalTenant, restored: Restored) -> Rebuilt:
        """The declared read models, folded from the restored events by the projector's code."""
        tables = TenantTables.declared(local)
        if tables.accounts is None or tables.ledger is None:
            return Rebuilt(0, 0, "no projector declared: nothing to rebuild")
        read_model, outcome = replay(restored.envelopes)
        put_quietly(self.emulator, local.region, tables.accounts, [to_item(r) for r in read_model.rows.values()])
        put_quietly(self.emulator, local.region, tables.ledger, [to_item(e) for e in read_model.entries.values()])
        problem = f"{len(outcome.failed)} accounts could not be projected: {sorted(outcome.failed)[:10]}" \
            if outcome.failed else None
        return Rebuilt(len(read_model.rows), outcome.stats.events_applied, problem)

    def start_tenant(self, local: LocalTenant) -> int:
        """Restore, then rebuild, each reported as a start-up step; the events restored."""
        tenant, started = local.tenant, time.perf_counter()
        restored, aside = self.restore(local)
        damage = (f"{len(restored.problems)} lines not restored, {len(restored.held_back)} accounts held back"
                  if restored.damaged else "ok")
        activity.startup(tenant, "restore", started, f"{len(restored.items)} events, {restored.aggregates} "
                         f"accounts from {restored.path}", damage, events=len(restored.items),
                         aggregates=restored.aggregates, problems=len(restored.problems),
                         held_back=len(restored.held_back))
        for line in [*map(str, restored.problems), *map(str, restored.held_back)]:
            log.warning("%s: %s", tenant, line)
        if aside is not None:
            log.warning("%s: the damaged log was moved, unchanged, to %s (reasons in %s); %s now holds the "
                        "%d events restored, and new events follow them", tenant, aside,
                        aside.with_suffix(".txt").name, restored.path.name, len(restored.items))
        started = time.perf_counter()
        rebuilt = self.rebuild(local, restored) if restored.items else Rebuilt(0, 0)
        activity.startup(tenant, "rebuild", started, f"read models of {rebuilt.aggregates} accounts from "
                         f"{rebuilt.events} events (projector replay)", rebuilt.problem or "ok",
                         aggregates=rebuilt.aggregates, events=rebuilt.events)
        return len(restored.items)

    def keep_subs(self, local: LocalTenant, user_pool_id: str, usernames: list[str]) -> dict[str, str]:
        """Dev users seeded just now get back the `sub` of earlier runs (`users.json`)."""
        return keep_subs(self.emulator, local.region, user_pool_id, usernames,
                         self.directory / local.tenant / USERS_FILE)

    def close(self) -> None:
        self.logs.close()
        os.close(self._lock)


class _RestoredEvents:
    """The restored events as the projection runtime's event store (its gap fill reads here)."""

    def __init__(self, envelopes: list[EventEnvelope]) -> None:
        self._by_aggregate: dict[str, list[EventEnvelope]] = {}
        for envelope in envelopes:
            self._by_aggregate.setdefault(envelope.aggregate_id, []).append(envelope)

    def read(self, aggregate_id: str, *, from_version: int = 1, to_version: int | None = None) -> Iterator[StoredEvent]:
        for envelope in sorted(self._by_aggregate.get(aggregate_id, ()), key=lambda e: e.version):
            if from_version <= envelope.version <= (to_version or envelope.version):
                yield StoredEvent(envelope)


def replay(envelopes: list[EventEnvelope]) -> tuple[InMemoryReadModel, BatchOutcome]:
    """The projector's runtime and projection (version guard, gap fill, coalescing: one commit per
    account) over the restored events, with no publisher (nobody is subscribed at start, and a
    restart is no news), into memory: writing the result straight into moto's tables takes a
    fraction of the 800-odd requests the projector's DynamoDB adapter would send for 10,000 events."""
    read_model = InMemoryReadModel(ACCOUNTS.version_field)
    runtime = ProjectionRuntime(ACCOUNTS, read_model, _RestoredEvents(envelopes))   # type: ignore[arg-type]
    return read_model, runtime.project(envelopes)


def put_quietly(emulator: Emulator, region: str, table: str, items: list[dict[str, Any]]) -> None:
    """Put `items` into moto's table directly: no request (so no log observer), no stream record
    (so no publisher). moto 5.2's `Table.put_item` adds a stream record only when the table has a
    `stream_shard`; it is detached for the load, under the lock every request to that backend
    takes, so no reader sees the table without it."""
    if not items:
        return
    from moto.dynamodb.models import dynamodb_backends

    moto_table = dynamodb_backends[FAKE_ACCOUNT_ID][region].get_table(table)
    with emulator.backend_lock("dynamodb", region):
        shard, moto_table.stream_shard = moto_table.stream_shard, None
        try:
            for item in items:
                moto_table.put_item(item, overwrite=True)
        finally:
            moto_table.stream_shard = shard
