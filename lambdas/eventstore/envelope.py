"""The event envelope (DESIGN section 4): what is stored, streamed and archived for every event."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asks, and which conversation the command belongs to."""

    actor: str = "anonymous"
    correlation_id: str | None = None
    causation_id: str | None = None


class EventEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    aggregate_id: str
    aggregate_type: str
    version: int
    event_id: str
    event_type: str
    schema_version: int
    occurred_at: str            # UTC ISO-8601, microseconds, "Z"
    tenant_id: str
    command_id: str
    correlation_id: str
    causation_id: str
    actor: str
    data: dict[str, Any]
    payload_hash: str = ""      # of the command that caused it (idempotency)

    def to_json(self) -> str:
        """The clean, public JSON form published to Kinesis and archived to S3."""
        return json.dumps(self.model_dump(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "EventEnvelope":
        return cls.model_validate_json(text)


OCCURRED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"   # fixed width, so instants compare as strings


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime(OCCURRED_AT_FORMAT)


def normalize_instant(text: str) -> str:
    """Any ISO-8601 instant with an offset ("Z", "+02:00", with or without a fraction) in the
    stored layout, so it compares correctly with `occurred_at`. Raises ValueError otherwise."""
    instant = datetime.fromisoformat(text.replace("z", "Z"))
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return instant.astimezone(UTC).strftime(OCCURRED_AT_FORMAT)


def new_event_id() -> str:
    return str(uuid.uuid4())
