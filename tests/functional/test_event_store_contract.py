"""One contract, every EventStore implementation (as `eventsourcing` does for its recorders)."""

from __future__ import annotations

import pytest

from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.errors import ConcurrencyError, TransactionTooLargeError
from lambdas.eventstore.memory import InMemoryEventStore
from lambdas.eventstore.store import AppendRequest, Snapshot

pytestmark = [pytest.mark.functional, pytest.mark.lambda_side]


def envelope(aggregate_id: str, version: int, **overrides) -> EventEnvelope:
    fields = dict(
        aggregate_id=aggregate_id, aggregate_type="Account", version=version, event_id=f"evt-{aggregate_id}-{version}",
        event_type="MoneyDeposited", schema_version=1, occurred_at=f"2026-01-01T00:00:{version % 60:02d}.000000Z",
        tenant_id="acme", command_id=f"cmd-{version}", correlation_id=f"cmd-{version}", causation_id=f"cmd-{version}",
        actor="tester", data={"amount": version}, payload_hash="abc",
    )
    return EventEnvelope(**(fields | overrides))


def request(aggregate_id: str, expected: int, count: int = 1, snapshot: Snapshot | None = None) -> AppendRequest:
    return AppendRequest(aggregate_id, expected, [envelope(aggregate_id, expected + i + 1) for i in range(count)], snapshot)


class EventStoreContract:
    """Subclasses provide a `store` fixture."""

    def test_appended_events_read_back_in_order(self, store):
        # GIVEN two appends WHEN read forward THEN all envelopes come back, oldest first, unchanged
        store.append(request("a", 0, 2))
        store.append(request("a", 2, 1))
        read = [s.envelope for s in store.read("a")]
        assert read == [envelope("a", v) for v in (1, 2, 3)]

    def test_append_at_an_existing_version_raises_concurrency_error(self, store):
        store.append(request("a", 0))
        with pytest.raises(ConcurrencyError) as caught:
            store.append(request("a", 0))
        assert (caught.value.aggregate_id, caught.value.expected_version) == ("a", 0)
        assert len(list(store.read("a"))) == 1

    def test_read_backward_pages_newest_first(self, store):
        store.append(request("a", 0, 5))
        assert [s.envelope.version for s in store.read_backward("a", before_version=None, limit=2)] == [5, 4]
        assert [s.envelope.version for s in store.read_backward("a", before_version=4, limit=10)] == [3, 2, 1]

    def test_read_range(self, store):
        store.append(request("a", 0, 5))
        assert [s.envelope.version for s in store.read("a", from_version=2, to_version=4)] == [2, 3, 4]

    def test_unknown_aggregate_reads_empty(self, store):
        assert list(store.read("nobody")) == []
        assert store.read_backward("nobody", before_version=None, limit=10) == []

    def test_snapshot_rides_on_the_last_event_of_an_append(self, store):
        snapshot = Snapshot(3, "schema-1", {"s": {"balance": 6}})
        store.append(request("a", 0, 3, snapshot))
        newest, *older = store.read_backward("a", before_version=None, limit=3)
        assert newest.snapshot == snapshot
        assert all(s.snapshot is None for s in older)

    def test_atomic_append_writes_all_or_nothing(self, store):
        # GIVEN b already has version 1 WHEN a transaction appends to a and (stale) b THEN neither changes
        store.append(request("b", 0))
        with pytest.raises(ConcurrencyError) as caught:
            store.append_atomically([request("a", 0), request("b", 0)])
        assert caught.value.aggregate_id == "b"
        assert list(store.read("a")) == []
        store.append_atomically([request("a", 0), request("b", 1)])
        assert len(list(store.read("a"))) == 1 and len(list(store.read("b"))) == 2

    def test_atomic_append_over_100_events_is_refused_clearly(self, store):
        with pytest.raises(TransactionTooLargeError) as caught:
            store.append_atomically([request("a", 0, 60), request("b", 0, 41)])
        assert (caught.value.item_count, caught.value.limit) == (101, 100)
        assert list(store.read("a")) == []


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self):
        return InMemoryEventStore()


class TestDynamoDBEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, dynamodb, events_table):
        return DynamoDBEventStore(events_table, dynamodb, tenant_id="acme")
