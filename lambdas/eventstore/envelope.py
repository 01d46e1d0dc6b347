"""The event envelope (DESIGN section 4): what is stored, streamed and archived for every event."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import InvalidInstantError


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


# AppSync's AWSDateTime (and RFC 3339): seconds optional, 1..9 fraction digits, an offset that is
# "Z" or +-hh:mm[:ss]. Written out rather than left to `datetime.fromisoformat`, which accepts other
# layouts, and whose result `strftime("%Y")` does not pad to four digits on every platform.
_INSTANT = re.compile(
    r"(?P<year>[+-]?[0-9]{4,})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?)?"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<off_h>[0-9]{2}):(?P<off_m>[0-9]{2})(?::(?P<off_s>[0-9]{2}))?)")
_LEAP_SECOND = 60


def normalize_instant(text: str) -> str:
    """An AWSDateTime ("Z" or any offset, with or without seconds and fraction) in the stored
    layout of `occurred_at`, so that the two compare as strings. Raises InvalidInstantError (a
    ValueError) for anything else, and for instants outside years 0001..9999 UTC."""
    match = _INSTANT.fullmatch(text)
    if match is None:
        raise InvalidInstantError(text, "is not an ISO-8601 date-time with a UTC offset")
    try:
        local = _local_datetime(match)
        utc = local.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidInstantError(text, "is outside years 0001..9999 UTC") from exc
    except ValueError as exc:
        raise InvalidInstantError(text, f"is not a valid date-time ({exc})") from exc
    if match["second"] == str(_LEAP_SECOND):
        utc = _leap_second(text, utc)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _local_datetime(match: re.Match[str]) -> datetime:
    year = int(match["year"])
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError(f"year {year}")
    second = int(match["second"] or 0)
    if second > _LEAP_SECOND:
        raise ValueError(f"second {second} out of range")
    microsecond = int((match["fraction"] or "0").ljust(6, "0")[:6])   # truncated: nothing stored is finer
    return datetime(year, int(match["month"]), int(match["day"]), int(match["hour"]), int(match["minute"]),
                    min(second, _LEAP_SECOND - 1), microsecond, tzinfo=_offset(match))


def _offset(match: re.Match[str]) -> timezone:
    if match["sign"] is None:
        return UTC
    hours, minutes, seconds = int(match["off_h"]), int(match["off_m"]), int(match["off_s"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"offset {match['offset']} out of range")
    delta = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return timezone(-delta if match["sign"] == "-" else delta)


def _leap_second(text: str, utc: datetime) -> datetime:
    """23:59:60 UTC is later than every stored instant of that minute and earlier than the next
    minute; no clock stamps :60, so the last microsecond of the minute selects the same events."""
    if (utc.hour, utc.minute) != (23, 59):
        raise InvalidInstantError(text, "has second 60 but is not a leap second (23:59:60 UTC)")
    return utc.replace(second=59, microsecond=999_999)


def new_event_id() -> str:
    return str(uuid.uuid4())
