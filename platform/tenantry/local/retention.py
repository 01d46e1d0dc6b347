"""What the emulated DynamoDB Streams and Kinesis shards keep: the records someone still needs.

AWS keeps a stream record for a retention period (24 hours for DynamoDB Streams and by default for
Kinesis) whether it was read or not. moto keeps every record for as long as the process lives, so
the dev server grew by every event's stream record and Kinesis record (about 5 KB of resident
memory per command).
Here, a shard keeps a record while
- an event source mapping reading the shard has not handled it yet (each poller says which record
  it needs from: the oldest of its buffered batch, or the one after the last it fetched), or
- it belongs to a batch sent to an on-failure destination, which `tenantry redrive` reads back
  from the stream by its sequence numbers (`pin`).
Everything else is trimmed, as AWS trims at the end of the retention period: a reader that opens
the shard at TRIM_HORIZON afterwards starts at the oldest record kept. A shard nobody reads (no
mapping registered for it) keeps everything, as before.

Trimming works on moto's shard objects directly, under the locks the requests to those backends
take (`Emulator.backend_lock`), so no request ever sees a shard half trimmed. Sequence numbers stay
as they were: moto's DynamoDB Streams numbers records by their position in a list, so a trimmed
record inside a pinned stretch is left as a hole (`None`) that reads skip
(`tenantry.local.moto_patches`, patch 7), and the leading part is cut off with the shard's start
moved past it; moto's Kinesis numbers a new record after the newest one held, so a Kinesis shard
always keeps its newest record.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenantry.local.emulator import FAKE_ACCOUNT_ID, Emulator

# Records: trimming runs once the shared horizon moved at least this far. Tests that want trims
# on every schedule (after every batch, racing the writes) set the variable to 1.
TRIM_EVERY = int(os.environ.get("TENANTRY_RETENTION_TRIM_EVERY", "100"))


@dataclass(frozen=True)
class ShardRef:
    kind: str           # "kinesis" (name: the stream) or "dynamodb" (name: the table)
    region: str
    name: str
    shard_id: str


class ShardReader:
    """One event source mapping's position on one shard, as the retention sees it."""

    def __init__(self, retention: StreamRetention, shard: ShardRef) -> None:
        self._retention, self.shard = retention, shard

    def needs_from(self, sequence_number: int) -> None:
        """Every record before `sequence_number` has been handled by this reader."""
        self._retention._moved(self, sequence_number)

    def pin(self, first: int, last: int) -> None:
        """Keep records `first`..`last` (a batch sent to the on-failure destination)."""
        self._retention._pin(self.shard, first, last)

    def close(self) -> None:
        self._retention._leave(self)


class StreamRetention:
    """The readers and pins of every shard of one emulator, and the trimming they allow."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._lock = threading.Lock()
        self._needed: dict[ShardRef, dict[ShardReader, int | None]] = {}
        self._pins: dict[ShardRef, list[tuple[int, int]]] = {}
        self._trimmed: dict[ShardRef, int] = {}         # the horizon of each shard's last trim

    def reader(self, shard: ShardRef) -> ShardReader:
        reader = ShardReader(self, shard)
        with self._lock:
            self._needed.setdefault(shard, {})[reader] = None
        return reader

    def _leave(self, reader: ShardReader) -> None:
        with self._lock:
            self._needed.get(reader.shard, {}).pop(reader, None)

    def _pin(self, shard: ShardRef, first: int, last: int) -> None:
        with self._lock:
            self._pins.setdefault(shard, []).append((first, last))

    def _moved(self, reader: ShardReader, sequence_number: int) -> None:
        shard = reader.shard
        with self._lock:
            readers = self._needed.get(shard, {})
            if reader not in readers:
                return
            readers[reader] = max(sequence_number, readers[reader] or 0)
            if any(position is None for position in readers.values()):
                return
            horizon = min(readers.values())          # type: ignore[type-var]
            since = self._trimmed.get(shard, 0)
            if horizon - since < TRIM_EVERY:
                return
            self._trimmed[shard] = horizon
            pins = list(self._pins.get(shard, ()))
        kept = _pinned_by(pins)
        if shard.kind == "kinesis":
            self._trim_kinesis(shard, horizon, kept)
        else:
            self._trim_dynamodb(shard, since, horizon, kept)

    def _trim_kinesis(self, ref: ShardRef, horizon: int, kept: Callable[[int], bool]) -> None:
        from moto.kinesis.models import kinesis_backends

        with self._emulator.backend_lock("kinesis", ref.region):
            stream = kinesis_backends[FAKE_ACCOUNT_ID][ref.region].streams.get(ref.name)
            shard = stream.shards.get(ref.shard_id) if stream is not None else None
            if shard is not None:
                trim_kinesis_shard(shard, horizon, kept)

    def _trim_dynamodb(self, ref: ShardRef, since: int, horizon: int, kept: Callable[[int], bool]) -> None:
        from moto.dynamodb.models import dynamodb_backends

        # Writes append under the DynamoDB lock, reads index the list under the Streams one:
        # both, in the order every request that takes several locks takes them.
        with self._emulator.backend_lock("dynamodb", ref.region), \
                self._emulator.backend_lock("dynamodbstreams", ref.region):
            table = dynamodb_backends[FAKE_ACCOUNT_ID][ref.region].tables.get(ref.name)
            shard = table.stream_shard if table is not None else None
            if shard is not None:
                trim_stream_shard(shard, since, horizon, kept)


def _pinned_by(pins: list[tuple[int, int]]) -> Callable[[int], bool]:
    return lambda sequence_number: any(first <= sequence_number <= last for first, last in pins)


def trim_kinesis_shard(shard: Any, horizon: int, kept: Callable[[int], bool]) -> None:
    """Drop the records of a moto Kinesis shard before `horizon` that are not `kept`, never the
    newest: moto numbers a new record after the newest one it holds, from 1 when it holds none, and
    a reader past the old numbers would never see the new ones."""
    newest = next(reversed(shard.records), None)
    horizon = min(horizon, newest) if newest is not None else horizon
    doomed = [n for n in itertools.takewhile(lambda n: n < horizon, shard.records) if not kept(n)]
    for sequence_number in doomed:
        del shard.records[sequence_number]
    if doomed and hasattr(shard, "_tenantry_keys"):
        del shard._tenantry_keys             # the read index of patch 3 is rebuilt on the next read


def trim_stream_shard(shard: Any, since: int, horizon: int, kept: Callable[[int], bool]) -> None:
    """Drop the records of a moto DynamoDB Streams shard from `since` (where the last trim
    stopped) to `horizon` that are not `kept`: holes inside, the leading run cut off (moving the
    shard's starting sequence number). Behind a pinned record the holes stay, a list slot each;
    starting at `since` keeps each trim's work to the records it is trimming."""
    start, items = shard.starting_sequence_number, shard.items
    for index in range(max(0, since - start), min(horizon - start, len(items))):
        if items[index] is not None and not kept(start + index):
            items[index] = None
    leading = sum(1 for _ in itertools.takewhile(lambda item: item is None, items))
    if leading:
        del items[:leading]
        shard.starting_sequence_number = start + leading
