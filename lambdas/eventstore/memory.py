"""In-memory event store: the reference implementation of the `EventStore` contract, and the
store the domain's functional tests and the CPU benchmark run on."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from .errors import ConcurrencyError, TransactionTooLargeError
from .keys import MAX_TRANSACT_ITEMS
from .store import AppendRequest, StoredEvent


class InMemoryEventStore:
    def __init__(self) -> None:
        self._streams: dict[str, list[StoredEvent]] = {}
        self._lock = threading.Lock()

    def append(self, request: AppendRequest) -> None:
        self.append_atomically((request,))

    def append_atomically(self, requests: Sequence[AppendRequest]) -> None:
        count = sum(len(r.events) for r in requests)
        if count > MAX_TRANSACT_ITEMS:
            raise TransactionTooLargeError(count, MAX_TRANSACT_ITEMS)
        with self._lock:
            for r in requests:
                if len(self._streams.get(r.aggregate_id, ())) != r.expected_version:
                    raise ConcurrencyError(r.aggregate_id, r.expected_version)
            for r in requests:
                stream = self._streams.setdefault(r.aggregate_id, [])
                last = len(r.events) - 1
                stream.extend(
                    StoredEvent(e, r.snapshot if i == last else None) for i, e in enumerate(r.events)
                )

    def read_backward(self, aggregate_id: str, *, before_version: int | None, limit: int) -> list[StoredEvent]:
        stream = self._streams.get(aggregate_id, [])
        end = len(stream) if before_version is None else min(len(stream), before_version - 1)
        return stream[max(0, end - limit):end][::-1]

    def read(self, aggregate_id: str, *, from_version: int = 1, to_version: int | None = None) -> Iterator[StoredEvent]:
        stream = self._streams.get(aggregate_id, [])
        end = len(stream) if to_version is None else min(len(stream), to_version)
        yield from stream[max(0, from_version - 1):end]

    def aggregate_ids(self) -> list[str]:
        return list(self._streams)
