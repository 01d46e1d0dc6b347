"""How the kernel sees an aggregate type: its events, its fold, and how its state is snapshotted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .events import DomainEvent, EventRegistry

S = TypeVar("S")


@dataclass(frozen=True)
class StateCodec(Generic[S]):
    """Serializes a state for snapshots. `schema` fingerprints the serialized shape: a snapshot
    written under any other schema is ignored on load, never trusted."""

    to_data: Callable[[S], dict[str, Any]]
    from_data: Callable[[dict[str, Any]], S]
    schema: str


@dataclass(frozen=True)
class AggregateSpec(Generic[S]):
    aggregate_type: str
    registry: EventRegistry
    initial: Callable[[str], S]                    # aggregate id -> state before any event
    evolve: Callable[[S, DomainEvent], S]          # pure fold step
    summarize: Callable[[S], Any]                  # what a repeated command gets back (JSON-able)
    codec: StateCodec[S]


@dataclass(frozen=True, slots=True)
class RecentCommand:
    """A command this aggregate has applied: enough to answer a retry without writing again."""

    payload_hash: str
    version: int                                   # version after the command's last event
    summary: Any                                   # `AggregateSpec.summarize` at that version


@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    aggregate_id: str
    state: S
    version: int
    recent: dict[str, RecentCommand]               # by `hashing.command_key`, oldest first
    created_at: str = ""                           # occurred-at of version 1
    updated_at: str = ""                           # occurred-at of the last event


@dataclass(frozen=True, slots=True)
class Outcome(Generic[S]):
    aggregate_id: str
    state: S
    version: int
    summary: Any
    replayed: bool                                 # True: an earlier identical command's result
