"""Where the embedded moto (5.2.x) differs from AWS in ways the local platform cannot live with,
and what the twin does instead. Applied once, by `Emulator.start()`. Tested in
tests/functional/test_moto_patches.py: the tests of 1 and 2 fail on unpatched moto; 3 changes
speed only, and its test pins that the records read are the same.

1. TransactWriteItems deep-copies every table it touches before it runs (its rollback plan), and
   when the transaction is cancelled it puts those copies in place of the tables. The copy costs
   O(table size) per transfer, and the swapped-in table has a new stream shard, so every
   DynamoDB Streams iterator held by a reader (the publisher's poller) points at the old one and
   never sees a record again: after one cancelled transfer the tenant's pipeline went silent.
   Here the tables are not copied; a cancelled transaction restores the items it touched and
   drops the stream records it added, in place.
2. DynamoDB Streams keeps every shard iterator it ever issued (one per GetRecords call, ~1 KB
   each), forever: an idle poller grew the process by megabytes an hour. AWS iterators expire
   after 15 minutes; here they do too, and at most `MAX_LIVE_ITERATORS` are kept.
3. Kinesis GetRecords walks the shard from its first record on every call, so each read got
   slower as the stream grew. Here it starts at the iterator's position (binary search).
4. Every moto model object ever made stays referenced by its class (`instances_tracked`, for
   moto's own data dump and S3's reset): each query's copies of the items it read, every stream
   record, every shard iterator. That was most of the dev server's 44 KB per command. Here only
   S3's classes track instances, and only live ones (weak references): S3's reset closes their
   files. moto's `/moto-api/data.json` dump, which nothing here reads, lists S3 objects only.
5. A Query on a table's key sorts every item of the table to find the partition's: each command's
   read of its account's newest events cost O(events of every account) and slowed the whole
   platform as history grew. Here a base-table Query looks at its partition only.
6. Every Kinesis PutRecord(s) stores two CloudWatch datapoints (`AWS/Kinesis` IncomingBytes and
   IncomingRecords) in moto's CloudWatch, kept forever: memory that grows with every event, for
   metrics nothing in the local platform reads (its alarms and dashboard are declared, not run).
   Here Kinesis records no stream metrics.
7. DynamoDB Streams reads a shard's records by their position in a list (sequence number minus the
   shard's first). The local platform trims records nobody needs any more
   (`tenantry.local.retention`) and leaves a hole (`None`) where a kept record follows a trimmed
   one; here a read skips holes, and an iterator from before the oldest record kept reads from it.
"""

from __future__ import annotations

import bisect
import copy
import time
import weakref
from collections import OrderedDict
from typing import Any

ITERATOR_TTL_S = 15 * 60            # AWS: a shard iterator expires 15 minutes after it was issued
MAX_LIVE_ITERATORS = 256           # a poller holds one; other readers (redrive) a few

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _patch_transactions()
    _patch_stream_iterators()
    _patch_kinesis_reads()
    _patch_instance_tracking()
    _patch_partition_queries()
    _patch_kinesis_metrics()
    _patch_stream_holes()
    _applied = True


# 1. TransactWriteItems -------------------------------------------------------------------------
class _TablesAsThemselves:
    """Stands in for `copy` inside moto.dynamodb.models: a Table "copy" is the table itself (the
    only deep copies of tables there are the transaction backups); anything else is copied."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, self._table_type) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


class _Undo:
    """What a transaction touched: each item as it was, each stream's length before."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self._items: dict[tuple[str, Any, Any], Any] = {}
        self._streams: dict[str, int] = {}
        for entry in transact_items:
            for op_type, op in entry.items():
                self._remember(backend, op_type, op)

    def _remember(self, backend: Any, op_type: str, op: dict[str, Any]) -> None:
        try:
            table = backend.get_table(op["TableName"])
            key = op["Item"] if op_type == "Put" else op["Key"]
            hash_key, range_key = backend.get_keys_value(table, key)
        except Exception:  # noqa: BLE001 - moto refuses this op itself, before writing anything
            return
        self._items.setdefault((op["TableName"], hash_key, range_key),
                               copy.deepcopy(table.get_item(hash_key, range_key)))
        if table.stream_shard is not None:
            self._streams.setdefault(op["TableName"], len(table.stream_shard.items))

    def rollback(self, backend: Any) -> None:
        for (table_name, hash_key, range_key), item in self._items.items():
            table = backend.get_table(table_name)
            # moto's layout: items[hash] = item, or items[hash][range] = item
            home, slot = (table.items, hash_key) if range_key is None else (table.items[hash_key], range_key)
            if item is None:
                home.pop(slot, None)
            else:
                home[slot] = item
        for table_name, length in self._streams.items():
            del backend.get_table(table_name).stream_shard.items[length:]


def _patch_transactions() -> None:
    import moto.dynamodb.models as models

    models.copy = _TablesAsThemselves(models.Table)      # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = _Undo(self, transact_items)
        try:
            original(self, transact_items)
        except BaseException:
            undo.rollback(self)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


# 2. DynamoDB Streams shard iterators -------------------------------------------------------------
class _ExpiringIterators(OrderedDict):
    """`shard_iterators` of a DynamoDBStreamsBackend: entries expire, and the oldest are dropped."""

    def __setitem__(self, key: str, value: Any) -> None:
        now = time.monotonic()
        super().__setitem__(key, (now, value))
        self.move_to_end(key)
        while self and (len(self) > MAX_LIVE_ITERATORS or next(iter(self.values()))[0] < now - ITERATOR_TTL_S):
            self.popitem(last=False)

    def __getitem__(self, key: str) -> Any:
        issued, value = super().__getitem__(key)
        if issued < time.monotonic() - ITERATOR_TTL_S:
            raise KeyError(key)
        return value


def _patch_stream_iterators() -> None:
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_init = DynamoDBStreamsBackend.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.shard_iterators = _ExpiringIterators()

    DynamoDBStreamsBackend.__init__ = __init__


# 3. Kinesis reads -------------------------------------------------------------------------------
def _patch_kinesis_reads() -> None:
    from moto.kinesis.models import Shard

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list, int, int]:
        keys = _sorted_keys(self)
        start = bisect.bisect_right(keys, int(last_sequence_id))
        chosen = keys[start:start + limit] if limit else keys[start:]
        results = [self.records[k] for k in chosen]
        last = chosen[-1] if chosen else int(last_sequence_id)
        behind = 0
        if results:
            behind = int((self.records[keys[-1]].created_at - results[-1].created_at) * 1000)
        return results, last, behind

    Shard.get_records = get_records


def _sorted_keys(shard: Any) -> list[int]:
    """The shard's sequence numbers in order (they only grow, and `records` keeps insertion
    order), kept with the shard and extended by the records added since the last read."""
    keys: list[int] = getattr(shard, "_tenantry_keys", [])
    added = len(shard.records) - len(keys)
    if added < 0 or (keys and keys[-1] not in shard.records):
        keys = list(shard.records)              # records were removed: start over
    elif added:
        tail = reversed(shard.records)
        keys.extend(reversed([next(tail) for _ in range(added)]))
    shard._tenantry_keys = keys
    return keys


# 4. Instance tracking ---------------------------------------------------------------------------
class _LiveInstances:
    """What `instances_tracked` is used as (append, iterate), without keeping anything alive."""

    def __init__(self, existing: Any = ()) -> None:
        self._live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        for instance in existing:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            self._live[id(instance)] = instance
        except TypeError:       # a model that cannot be weakly referenced: not tracked at all
            pass

    def __iter__(self) -> Any:
        return iter(list(self._live.values()))

    def __len__(self) -> int:
        return len(self._live)


def _patch_instance_tracking() -> None:
    from moto.core.common_models import BaseModel

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        if not cls.__module__.startswith("moto.s3"):
            return instance
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, _LiveInstances):
            tracked = _LiveInstances(tracked or ())
            cls.instances_tracked = tracked                    # type: ignore[attr-defined]
        tracked.append(instance)
        return instance

    BaseModel.__new__ = staticmethod(__new__)                  # type: ignore[method-assign]


# 5. Base-table queries --------------------------------------------------------------------------
def _patch_partition_queries() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.query
    index_position = 6      # query(hash_key, range_comparison, range_objs, limit, start, forward, projection, index_name, ...)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[index_position] if len(args) > index_position else kwargs.get("index_name")
        if index_name is not None or hash_key is None or not self.has_range_key:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        # moto's query reads `self.all_items()` and keeps the partition's items: give it only those
        # (requests to a table run one at a time, see tenantry.local.emulator).
        self.all_items = lambda: partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


# 6. Kinesis stream metrics ----------------------------------------------------------------------
def _patch_kinesis_metrics() -> None:
    from moto.kinesis.models import KinesisBackend

    def _send_stream_metrics(self: Any, stream_name: str, incoming_bytes: int, incoming_records: int) -> None:
        return None

    KinesisBackend._send_stream_metrics = _send_stream_metrics


# 7. DynamoDB Streams holes ---------------------------------------------------------------------
def _patch_stream_holes() -> None:
    from moto.dynamodb.models.table import StreamShard

    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        items, index = self.items, max(0, start - self.starting_sequence_number)
        found: list[dict[str, Any]] = []
        while index < len(items) and len(found) < quantity:
            if items[index] is not None:
                found.append(items[index].to_json())
            index += 1
        return found

    StreamShard.get = get
