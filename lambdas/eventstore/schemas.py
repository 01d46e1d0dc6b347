"""JSON Schemas of stored event shapes, one file per (event type, schema version).

The files are the record of what has ever been stored: a test compares each event class with its
file, so a shape cannot change without a new schema version, a kept old file and an upcaster.
"""

from __future__ import annotations

import json
from pathlib import Path

from .events import DomainEvent, EventRegistry


def schema_of(cls: type[DomainEvent]) -> dict:
    schema = cls.model_json_schema()
    schema["$id"] = schema_file_name(cls.event_type, cls.schema_version)
    schema["x-event-type"] = cls.event_type
    schema["x-schema-version"] = cls.schema_version
    return schema


def schema_file_name(event_type: str, schema_version: int) -> str:
    return f"{event_type}.v{schema_version}.json"


def render(cls: type[DomainEvent]) -> str:
    return json.dumps(schema_of(cls), indent=2, sort_keys=True) + "\n"


def export(registry: EventRegistry, directory: Path) -> list[Path]:
    """Write the current schema of every registered event; older files are left untouched."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for cls in registry.classes.values():
        path = directory / schema_file_name(cls.event_type, cls.schema_version)
        path.write_text(render(cls))
        written.append(path)
    return written
