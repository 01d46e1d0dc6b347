"""Domain events, their registry and upcasters.

Stored items are never rewritten: an event stored under an old schema version is upcast on read,
step by step (v1 -> v2 -> ... -> current), before it becomes a typed event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from .errors import CorruptEventError, UnknownEventTypeError

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DomainEvent(BaseModel):
    """Base of every domain event: frozen, past tense, versioned by `schema_version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__


class EventRegistry:
    """Maps (event type, schema version) of stored data to current, typed events."""

    def __init__(self, event_classes: Iterable[type[DomainEvent]] = ()) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in event_classes:
            self.register(cls)

    def register(self, cls: type[DomainEvent]) -> type[DomainEvent]:
        self._classes[cls.event_type] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: `fn(data_at_from_version) -> data_at_from_version_plus_one`."""

        def register(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return register

    @property
    def classes(self) -> dict[str, type[DomainEvent]]:
        return dict(self._classes)

    def has_upcaster(self, event_type: str, from_version: int) -> bool:
        return (event_type, from_version) in self._upcasters

    def decode(
        self, aggregate_id: str, version: int, event_type: str, schema_version: int, data: dict[str, Any]
    ) -> DomainEvent:
        cls = self._classes.get(event_type)
        if cls is None or schema_version > cls.schema_version or schema_version < 1:
            raise UnknownEventTypeError(aggregate_id, version, event_type, schema_version)
        while schema_version < cls.schema_version:
            step = self._upcasters.get((event_type, schema_version))
            if step is None:
                raise UnknownEventTypeError(aggregate_id, version, event_type, schema_version)
            data = step(dict(data))
            schema_version += 1
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise CorruptEventError(aggregate_id, version, f"{event_type} data does not validate: {exc}") from exc
