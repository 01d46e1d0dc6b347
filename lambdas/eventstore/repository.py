"""Load an aggregate (snapshot + tail), run a decision, append conditionally, retry on conflict.

Round trips per single-aggregate command: one Query (newest events backward, stopping at the
newest snapshot, which rides on an event item) and one conditional PutItem. Idempotency costs
nothing extra: each event carries its command id and payload hash, and snapshots carry the most
recent commands, so a retried command is recognised from the state that was loaded anyway.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic

from .aggregate import AggregateSpec, Loaded, Outcome, RecentCommand, S
from .envelope import CommandContext, EventEnvelope, new_event_id, normalize_instant, utc_now_iso
from .errors import (
    CommandReplayConflictError,
    ConcurrencyError,
    CorruptEventError,
    ExpectedVersionError,
    RetriesExhaustedError,
)
from .events import DomainEvent
from .hashing import command_key
from .store import AppendRequest, EventStore, Snapshot, StoredEvent

Decide = Callable[[S], Sequence[DomainEvent]]
DecideMany = Callable[[dict[str, S]], dict[str, Sequence[DomainEvent]]]

# A snapshot rides on every Nth event: a load reads at most N items back to it (DESIGN section 7
# budgets one read unit per command), and its bytes are paid on one write in N.
DEFAULT_SNAPSHOT_INTERVAL = 10
# The recent-command window in a snapshot: [command key, payload hash, version, summary], oldest first.
_RECENT = "q"


class Repository(Generic[S]):
    def __init__(
        self,
        store: EventStore,
        spec: AggregateSpec[S],
        *,
        tenant_id: str,
        snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL,
        recent_commands: int = 8,
        max_attempts: int = 30,
        clock: Callable[[], str] = utc_now_iso,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if snapshot_interval < 1:
            raise ValueError("snapshot_interval must be >= 1")
        self.store = store
        self.spec = spec
        self.tenant_id = tenant_id
        self.snapshot_interval = snapshot_interval
        self.recent_commands = recent_commands
        self.max_attempts = max_attempts
        self.clock = clock
        self.sleep = sleep

    # -- loading --------------------------------------------------------------------------------
    def load(self, aggregate_id: str, *, before_version: int | None = None) -> Loaded[S]:
        """Current state (or the state just below `before_version`) from the newest usable snapshot."""
        tail: list[StoredEvent] = []                      # newest first
        cursor, limit = before_version, self.snapshot_interval
        while True:
            page = self.store.read_backward(aggregate_id, before_version=cursor, limit=limit)
            for stored in page:
                base = self._from_snapshot(aggregate_id, stored)
                if base is not None:
                    return self._fold(base, reversed(tail))
                tail.append(stored)
            # Version 1 is the only proof of having reached the start: a page may also come back
            # short because DynamoDB stops a page at 1 MB.
            if not page or page[-1].envelope.version <= 1:
                return self._fold(self._empty(aggregate_id), reversed(tail))
            # No usable snapshot yet (unknown schema, none taken, or a short page): read further back.
            cursor, limit = page[-1].envelope.version, 100

    def replay(self, aggregate_id: str) -> Loaded[S]:
        """Fold every stored event from version 1, trusting no snapshot (audits, convergence checks)."""
        return self._fold(self._empty(aggregate_id), self.store.read(aggregate_id))

    def load_at(self, aggregate_id: str, *, version: int | None = None, at: str | None = None) -> Loaded[S] | None:
        """Time travel: the state as of `version`, or as of the instant `at` (ISO-8601, any offset)."""
        if version is not None:
            loaded = self.load(aggregate_id, before_version=version + 1)
            return loaded if loaded.version == version and version > 0 else None
        if at is None:
            loaded = self.load(aggregate_id)
            return loaded if loaded.version > 0 else None
        at = normalize_instant(at)
        events = []
        for stored in self.store.read(aggregate_id):
            if stored.envelope.occurred_at > at:
                break
            events.append(stored)
        loaded = self._fold(self._empty(aggregate_id), events)
        return loaded if loaded.version > 0 else None

    def _empty(self, aggregate_id: str) -> Loaded[S]:
        return Loaded(aggregate_id, self.spec.initial(aggregate_id), 0, {})

    def _from_snapshot(self, aggregate_id: str, stored: StoredEvent) -> Loaded[S] | None:
        """The snapshot riding on `stored` as a starting point, or None when it cannot be trusted
        (the events are folded instead): another schema, or a body that does not read back.

        Snapshots before command keys ("r") listed the recent command ids themselves, and their
        last update time; both are derived now (the update time is that of the event carrying it)."""
        snapshot = stored.snapshot
        if snapshot is None or snapshot.schema != self.spec.codec.schema:
            return None
        data = snapshot.state
        try:
            if _RECENT in data:
                recent = {key: RecentCommand(h, v, s) for key, h, v, s in data[_RECENT]}
            else:
                recent = {command_key(c): RecentCommand(h, v, s) for c, h, v, s in data["r"]}
            state = self.spec.codec.from_data(data["s"])
            updated_at = data.get("u", stored.envelope.occurred_at)
            return Loaded(aggregate_id, state, snapshot.version, recent, data["c"], updated_at)
        except (KeyError, TypeError, ValueError):
            return None

    def _fold(self, base: Loaded[S], events: Iterable[StoredEvent]) -> Loaded[S]:
        spec, state, version = self.spec, base.state, base.version
        recent, created_at, updated_at = dict(base.recent), base.created_at, base.updated_at
        for stored in events:
            env = stored.envelope
            if env.version != version + 1:
                raise CorruptEventError(env.aggregate_id, env.version, f"expected version {version + 1}")
            event = spec.registry.decode(env.aggregate_id, env.version, env.event_type, env.schema_version, env.data)
            state = spec.evolve(state, event)
            version = env.version
            key = command_key(env.command_id)
            recent.pop(key, None)
            recent[key] = RecentCommand(env.payload_hash, version, spec.summarize(state))
            updated_at = env.occurred_at
            created_at = created_at or env.occurred_at
        return Loaded(base.aggregate_id, state, version, recent, created_at, updated_at)

    # -- commands -------------------------------------------------------------------------------
    def execute(
        self,
        aggregate_id: str,
        *,
        command_id: str,
        payload_hash: str,
        decide: Decide[S],
        ctx: CommandContext,
        expected_version: int | None = None,
    ) -> Outcome[S]:
        for attempt in range(self.max_attempts):
            loaded = self.load(aggregate_id)
            replayed = self._replayed(loaded, command_id, payload_hash)
            if replayed is not None:
                return replayed
            if expected_version is not None and expected_version != loaded.version:
                raise ExpectedVersionError(aggregate_id, expected_version, loaded.version)
            request, after = self._prepare(loaded, decide(loaded.state), command_id, payload_hash, ctx)
            try:
                if request.events:
                    self.store.append(request)
            except ConcurrencyError:
                self._backoff(attempt)
                continue
            return after
        raise RetriesExhaustedError((aggregate_id,), self.max_attempts)

    def execute_many(
        self,
        aggregate_ids: Sequence[str],
        *,
        command_id: str,
        payload_hash: str,
        decide: DecideMany[S],
        ctx: CommandContext,
    ) -> dict[str, Outcome[S]]:
        """One command over several aggregates, appended atomically (e.g. a transfer)."""
        for attempt in range(self.max_attempts):
            loaded = {aid: self.load(aid) for aid in aggregate_ids}
            replayed = {aid: self._replayed(one, command_id, payload_hash) for aid, one in loaded.items()}
            if all(r is not None for r in replayed.values()):
                return replayed  # type: ignore[return-value]
            if any(r is not None for r in replayed.values()):
                # The command was applied atomically to all of them, but some have already let it
                # slide out of their recent-command window: look its event up (rare, extra reads).
                return {aid: r or self._recall(aid, command_id, payload_hash) for aid, r in replayed.items()}
            decisions = decide({aid: one.state for aid, one in loaded.items()})
            prepared = {
                aid: self._prepare(loaded[aid], decisions.get(aid, ()), command_id, payload_hash, ctx)
                for aid in aggregate_ids
            }
            try:
                self.store.append_atomically([req for req, _ in prepared.values() if req.events])
            except ConcurrencyError:
                self._backoff(attempt)
                continue
            return {aid: after for aid, (_, after) in prepared.items()}
        raise RetriesExhaustedError(tuple(aggregate_ids), self.max_attempts)

    def _recall(self, aggregate_id: str, command_id: str, payload_hash: str) -> Outcome[S]:
        """The original outcome of a command older than the recent-command window."""
        cursor: int | None = None
        while True:
            page = self.store.read_backward(aggregate_id, before_version=cursor, limit=100)
            for stored in page:
                env = stored.envelope
                if env.command_id != command_id:
                    continue
                if env.payload_hash != payload_hash:
                    raise CommandReplayConflictError(aggregate_id, command_id)
                then = self.load(aggregate_id, before_version=env.version + 1)
                return Outcome(aggregate_id, then.state, then.version, self.spec.summarize(then.state), replayed=True)
            if not page or page[-1].envelope.version <= 1:
                raise CommandReplayConflictError(aggregate_id, command_id)
            cursor = page[-1].envelope.version

    def _replayed(self, loaded: Loaded[S], command_id: str, payload_hash: str) -> Outcome[S] | None:
        seen = loaded.recent.get(command_key(command_id))
        if seen is None:
            return None
        if seen.payload_hash != payload_hash:
            raise CommandReplayConflictError(loaded.aggregate_id, command_id)
        return Outcome(loaded.aggregate_id, loaded.state, seen.version, seen.summary, replayed=True)

    def _prepare(
        self, loaded: Loaded[S], events: Sequence[DomainEvent], command_id: str, payload_hash: str, ctx: CommandContext
    ) -> tuple[AppendRequest, Outcome[S]]:
        spec, now = self.spec, self.clock()
        correlation = ctx.correlation_id or command_id
        causation = ctx.causation_id or command_id
        state, version = loaded.state, loaded.version
        envelopes: list[EventEnvelope] = []
        for event in events:
            state = spec.evolve(state, event)
            version += 1
            envelopes.append(EventEnvelope.model_construct(
                aggregate_id=loaded.aggregate_id, aggregate_type=spec.aggregate_type, version=version,
                event_id=new_event_id(), event_type=event.event_type, schema_version=event.schema_version,
                occurred_at=now, tenant_id=self.tenant_id, command_id=command_id, correlation_id=correlation,
                causation_id=causation, actor=ctx.actor, data=event.model_dump(mode="json"),
                payload_hash=payload_hash,
            ))
        summary = spec.summarize(state)
        snapshot = None
        if envelopes and loaded.version // self.snapshot_interval != version // self.snapshot_interval:
            snapshot = self._snapshot(loaded, state, version, command_id, payload_hash, summary, now)
        request = AppendRequest(loaded.aggregate_id, loaded.version, envelopes, snapshot)
        return request, Outcome(loaded.aggregate_id, state, version, summary, replayed=False)

    def _snapshot(
        self, loaded: Loaded[S], state: S, version: int, command_id: str, payload_hash: str, summary: Any, now: str
    ) -> Snapshot:
        key, merged = command_key(command_id), dict(loaded.recent)
        merged.pop(key, None)
        merged[key] = RecentCommand(payload_hash, version, summary)
        kept = list(merged.items())[-self.recent_commands:]
        data: dict[str, Any] = {
            "s": self.spec.codec.to_data(state),
            _RECENT: [[k, r.payload_hash, r.version, r.summary] for k, r in kept],
            "c": loaded.created_at or now,
        }
        return Snapshot(version, self.spec.codec.schema, data)

    def _backoff(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))
