"""The projection runtime: fold a batch of event envelopes into read models, idempotently.

Per batch the runtime groups envelopes by aggregate and, for each aggregate:
- skips every envelope at or below the version the read model already reflects (duplicates and
  redeliveries are free);
- fills a gap (an envelope newer than `stored + 1`) by reading the missing versions from the event
  store, so reordering and lost records never corrupt a row;
- coalesces: the whole run of new versions becomes ONE commit, conditional on the stored version
  (another projector that moved the row first makes the commit fail, and the retry skips what it
  already applied).

One aggregate's failure never stops the others: `project` returns which aggregates failed, and the
handler turns those into batch item failures.

A "read-model write" (DESIGN section 7) is one such conditional commit of one aggregate: its row
(conditional PutItem on DynamoDB) with its new entries. Item counts (rows, entries) are reported
separately by `ProjectionStats`, so the cost in write units stays visible.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from .envelope import EventEnvelope
from .store import EventStore

Row = dict[str, Any]
Entry = dict[str, Any]


class ProjectionError(Exception):
    """Base of the projection runtime's errors."""


class ReadModelConflictError(ProjectionError):
    """The stored row moved away from `expected_version` between load and commit."""

    def __init__(self, aggregate_id: str, expected_version: int) -> None:
        super().__init__(f"{aggregate_id}: read model is no longer at version {expected_version}")
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version


class UndecodableRecordError(ProjectionError):
    """The batch holds a record of `aggregate_id` that is not an envelope: its events are retried."""

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(f"{aggregate_id}: undecodable record in batch")
        self.aggregate_id = aggregate_id


class EventGapError(ProjectionError):
    """The event store itself lacks versions the read model needs: never papered over."""

    def __init__(self, aggregate_id: str, expected_version: int, found_version: int | None) -> None:
        super().__init__(f"{aggregate_id}: expected version {expected_version}, event store has {found_version}")
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.found_version = found_version


@dataclass(frozen=True)
class Projection:
    """A pure read-model fold: `apply(row or None, envelope) -> (new row, entries it adds)`.
    The row must carry the version it reflects under `version_field`."""

    name: str
    apply: Callable[[Row | None, EventEnvelope], tuple[Row, Sequence[Entry]]]
    version_field: str = "version"

    def fold(self, row: Row | None, envelopes: Iterable[EventEnvelope]) -> tuple[Row | None, list[Entry]]:
        entries: list[Entry] = []
        for envelope in envelopes:
            row, added = self.apply(row, envelope)
            entries.extend(added)
        return row, entries

    def version_of(self, row: Row | None) -> int:
        return 0 if row is None else int(row[self.version_field])


@dataclass(frozen=True)
class Commit:
    aggregate_id: str
    expected_version: int          # 0: no row yet
    row: Row
    entries: tuple[Entry, ...]


class ReadModel(Protocol):
    def load_rows(self, aggregate_ids: Sequence[str]) -> dict[str, Row]:
        """Stored rows of those aggregates that have one."""

    def commit(self, commit: Commit) -> None:
        """Write the entries, then the row conditional on the stored row being at
        `expected_version`; raise ReadModelConflictError otherwise. Entries are pure functions of
        the history, so rewriting them after a conflict is harmless."""


class Publisher(Protocol):
    def publish(self, row: Row) -> None:
        """Push the latest state of one aggregate to subscribers (after the commit)."""


@dataclass
class ProjectionStats:
    events_in: int = 0
    events_applied: int = 0
    events_filled: int = 0           # read from the event store to fill gaps
    commits: int = 0                 # read-model writes (one per aggregate per batch)
    rows_written: int = 0
    entries_written: int = 0
    publishes: int = 0

    def add(self, other: "ProjectionStats") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class BatchOutcome:
    failed: dict[str, Exception] = field(default_factory=dict)    # aggregate id -> why
    committed: dict[str, Row] = field(default_factory=dict)
    stats: ProjectionStats = field(default_factory=ProjectionStats)


class ProjectionRuntime:
    """`concurrency` > 1 projects the aggregates of a batch in parallel threads: they are
    independent (one commit and one publish each), and on AWS a batch otherwise waits on one
    read-model write and one AppSync round trip per account, one after the other. The threads are
    the runtime's (one pool, started on the first parallel batch) and serve every later batch."""

    def __init__(self, projection: Projection, read_model: ReadModel, store: EventStore,
                 publisher: Publisher | None = None, *, concurrency: int = 1) -> None:
        self.projection = projection
        self.read_model = read_model
        self.store = store
        self.publisher = publisher
        self.concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()       # concurrent invocations may share one runtime

    def project(self, envelopes: Sequence[EventEnvelope], *, poisoned: Iterable[str] = ()) -> BatchOutcome:
        """Apply one batch. `poisoned` names aggregates with an undecodable record in the batch:
        they fail as a whole (their records are retried), the rest flows."""
        outcome = BatchOutcome()
        outcome.stats.events_in = len(envelopes)
        groups: dict[str, list[EventEnvelope]] = {}
        for envelope in envelopes:
            groups.setdefault(envelope.aggregate_id, []).append(envelope)
        for aggregate_id in poisoned:
            groups.pop(aggregate_id, None)
            outcome.failed[aggregate_id] = UndecodableRecordError(aggregate_id)
        try:
            rows = self.read_model.load_rows(list(groups))
        except Exception as exc:  # noqa: BLE001 - every aggregate of the batch fails, none is skipped
            outcome.failed.update({aid: exc for aid in groups})
            return outcome
        self._each(outcome, [(aid, rows.get(aid), group, False) for aid, group in groups.items()])
        return outcome

    def catch_up(self, aggregate_ids: Sequence[str]) -> BatchOutcome:
        """Bring these aggregates up to the head of the event store (redrive, incremental replay)."""
        outcome = BatchOutcome()
        rows = self.read_model.load_rows(list(aggregate_ids))
        self._each(outcome, [(aid, rows.get(aid), [], True) for aid in aggregate_ids])
        return outcome

    def _each(self, outcome: BatchOutcome, work: list[tuple[str, Row | None, list[EventEnvelope], bool]]) -> None:
        def one(item: tuple[str, Row | None, list[EventEnvelope], bool]) -> tuple[ProjectionStats, Row | None] | Exception:
            try:
                return self._project_one(*item)
            except Exception as exc:  # noqa: BLE001 - isolated per aggregate, surfaced as a failure
                return exc

        if self.concurrency > 1 and len(work) > 1:
            results = list(self._executor().map(one, work))
        else:
            results = [one(item) for item in work]
        for (aggregate_id, *_), result in zip(work, results):
            if isinstance(result, Exception):
                outcome.failed[aggregate_id] = result
                continue
            stats, committed = result
            outcome.stats.add(stats)
            if committed is not None:
                outcome.committed[aggregate_id] = committed

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="projection")
            return self._pool

    def _project_one(self, aggregate_id: str, row: Row | None, group: list[EventEnvelope],
                     to_head: bool) -> tuple[ProjectionStats, Row | None]:
        stats = ProjectionStats()
        stored = self.projection.version_of(row)
        fresh = {e.version: e for e in group if e.version > stored}
        if not fresh and not to_head:
            # Redelivery of the head: re-publish so a publish lost to a crash after the commit is
            # not lost forever (subscribers see the same version twice, which is harmless).
            if row is not None and self.publisher is not None and max(e.version for e in group) == stored:
                self.publisher.publish(row)
                stats.publishes += 1
            return stats, None
        top = max(fresh) if fresh else None
        missing = [v for v in range(stored + 1, (top or stored) + 1) if v not in fresh]
        if missing or to_head:
            filled = self._read(aggregate_id, min(missing, default=stored + 1), None if to_head else max(missing))
            stats.events_filled += len(filled)
            fresh.update({e.version: e for e in filled if e.version not in fresh})
        if not fresh:
            return stats, None
        ordered = [fresh[v] for v in sorted(fresh)]
        for expected, envelope in enumerate(ordered, start=stored + 1):
            if envelope.version != expected:
                raise EventGapError(aggregate_id, expected, envelope.version)
        new_row, entries = self.projection.fold(row, ordered)
        assert new_row is not None
        self.read_model.commit(Commit(aggregate_id, stored, new_row, tuple(entries)))
        stats.events_applied += len(ordered)
        stats.commits += 1
        stats.rows_written += 1
        stats.entries_written += len(entries)
        if self.publisher is not None:
            self.publisher.publish(new_row)
            stats.publishes += 1
        return stats, new_row

    def _read(self, aggregate_id: str, from_version: int, to_version: int | None) -> list[EventEnvelope]:
        return [s.envelope for s in self.store.read(aggregate_id, from_version=from_version, to_version=to_version)]


class InMemoryReadModel:
    """The reference `ReadModel`: same contract as the DynamoDB adapter, for property tests."""

    def __init__(self, version_field: str = "version") -> None:
        self.rows: dict[str, Row] = {}
        self.entries: dict[tuple[str, int], Entry] = {}
        self.version_field = version_field
        self.commits = 0

    def load_rows(self, aggregate_ids: Sequence[str]) -> dict[str, Row]:
        return {aid: dict(self.rows[aid]) for aid in aggregate_ids if aid in self.rows}

    def commit(self, commit: Commit) -> None:
        current = self.rows.get(commit.aggregate_id)
        current_version = 0 if current is None else current[self.version_field]
        if current_version != commit.expected_version:
            raise ReadModelConflictError(commit.aggregate_id, commit.expected_version)
        self.rows[commit.aggregate_id] = dict(commit.row)
        for entry in commit.entries:
            self.entries[(commit.aggregate_id, entry[self.version_field])] = dict(entry)
        self.commits += 1


def fold_store(projection: Projection, store: EventStore, aggregate_ids: Iterable[str]
               ) -> tuple[dict[str, Row], dict[tuple[str, int], Entry]]:
    """The expected read model: the projection folded over the whole event store."""
    rows: dict[str, Row] = {}
    entries: dict[tuple[str, int], Entry] = {}
    for aggregate_id in aggregate_ids:
        row, added = projection.fold(None, (s.envelope for s in store.read(aggregate_id)))
        if row is not None:
            rows[aggregate_id] = row
        for entry in added:
            entries[(aggregate_id, entry[projection.version_field])] = entry
    return rows, entries
