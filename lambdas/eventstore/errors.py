"""Errors of the event-sourcing kernel. Each carries the fields a caller needs to react."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base of every kernel error."""


class ConcurrencyError(EventStoreError):
    """Another writer appended to `aggregate_id` after we read it at `expected_version`."""

    def __init__(self, aggregate_id: str, expected_version: int) -> None:
        super().__init__(f"{aggregate_id}: version {expected_version + 1} already exists")
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version


class TransactionTooLargeError(EventStoreError):
    def __init__(self, item_count: int, limit: int) -> None:
        super().__init__(f"an atomic append holds {item_count} events; DynamoDB allows at most {limit}")
        self.item_count = item_count
        self.limit = limit


class ExpectedVersionError(EventStoreError):
    """The caller asked to act on `expected` but the aggregate is at `actual`."""

    def __init__(self, aggregate_id: str, expected: int, actual: int) -> None:
        super().__init__(f"{aggregate_id}: expected version {expected}, found {actual}")
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.actual = actual


class RetriesExhaustedError(EventStoreError):
    def __init__(self, aggregate_ids: tuple[str, ...], attempts: int) -> None:
        super().__init__(f"{', '.join(aggregate_ids)}: still conflicting after {attempts} attempts")
        self.aggregate_ids = aggregate_ids
        self.attempts = attempts


class CommandReplayConflictError(EventStoreError):
    """A command id was reused with a different payload."""

    def __init__(self, aggregate_id: str, command_id: str) -> None:
        super().__init__(f"{aggregate_id}: command {command_id} was already used with another payload")
        self.aggregate_id = aggregate_id
        self.command_id = command_id


class CorruptEventError(EventStoreError):
    """A stored item cannot be read: never skipped silently."""

    def __init__(self, aggregate_id: str, version: int, reason: str) -> None:
        super().__init__(f"{aggregate_id} v{version}: {reason}")
        self.aggregate_id = aggregate_id
        self.version = version
        self.reason = reason


class UnknownEventTypeError(CorruptEventError):
    def __init__(self, aggregate_id: str, version: int, event_type: str, schema_version: int) -> None:
        super().__init__(aggregate_id, version, f"unknown event type {event_type} v{schema_version}")
        self.event_type = event_type
        self.schema_version = schema_version


class InvalidInstantError(EventStoreError, ValueError):
    """`text` is not an instant the event store can compare with `occurred_at`. A ValueError too,
    so that a pydantic validator calling `normalize_instant` reports it as a validation error."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} {reason}")
        self.text = text
        self.reason = reason
