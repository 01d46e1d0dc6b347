"""The `EventStore` port: what the kernel needs from any storage, and the records it exchanges.

Implementations: `memory.InMemoryEventStore` and `dynamodb.DynamoDBEventStore`; both pass
tests/functional/test_event_store_contract.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .envelope import EventEnvelope


@dataclass(frozen=True, slots=True)
class Snapshot:
    """State folded up to `version`, serialized as JSON-compatible data under `schema` (a hash)."""

    version: int
    schema: str
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An envelope as read back, with the snapshot that rides on it, if any."""

    envelope: EventEnvelope
    snapshot: Snapshot | None = None


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """Append `events` (versions expected_version+1 ...) to one aggregate, optionally snapshotting."""

    aggregate_id: str
    expected_version: int
    events: Sequence[EventEnvelope]
    snapshot: Snapshot | None = None   # rides on the last event of the request


class EventStore(Protocol):
    def append(self, request: AppendRequest) -> None:
        """Conditional append. Raises ConcurrencyError if any of the versions already exists."""

    def append_atomically(self, requests: Sequence[AppendRequest]) -> None:
        """All requests or none (one transaction). Raises ConcurrencyError naming a loser."""

    def read_backward(self, aggregate_id: str, *, before_version: int | None, limit: int) -> list[StoredEvent]:
        """Up to `limit` events newest first, strictly below `before_version` (None: from the head)."""

    def read(self, aggregate_id: str, *, from_version: int = 1, to_version: int | None = None) -> Iterator[StoredEvent]:
        """Events oldest first, versions in [from_version, to_version]."""
