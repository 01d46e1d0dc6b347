"""Envelope <-> DynamoDB item (low-level attribute-value form, as the client and Streams see it).

Keys, kind, event type and data are attributes of their own; the rest of the envelope is one
compact JSON attribute (`keys.META`). DynamoDB bills every byte of every item a load reads (a
window of up to `snapshot_interval` items) and writes, so the metadata is written as small as it
reads back exactly (see `keys.META_UUID_FORMS` and the notes above it): correlation and causation
ids equal to the command id and the table's own tenant id are left out and restored on read, UUIDs
are packed, instants are integers. Items written before any of that still read: every short form
has its own key or type, and the long forms are always understood.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from . import keys as k
from .envelope import OCCURRED_AT_FORMAT, EventEnvelope
from .errors import CorruptEventError
from .store import Snapshot, StoredEvent

Item = dict[str, dict[str, Any]]

_COMPACT = (",", ":")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UUID_FIELDS = ((k.META_EVENT_ID, "event_id"), (k.META_COMMAND_ID, "command_id"),
                (k.META_CORRELATION_ID, "correlation_id"), (k.META_CAUSATION_ID, "causation_id"))


def encode(envelope: EventEnvelope, snapshot: Snapshot | None = None, *, table_tenant: str = "") -> Item:
    """`table_tenant`: the tenant whose table the item goes to (left out of the item if it is the
    envelope's); whoever decodes the item passes the same."""
    e = envelope
    meta: dict[str, Any] = {k.META_AGGREGATE_TYPE: e.aggregate_type, k.META_OCCURRED_AT: _instant(e.occurred_at),
                            k.META_ACTOR: e.actor}
    ids = {k.META_EVENT_ID: e.event_id, k.META_COMMAND_ID: e.command_id}
    if e.correlation_id != e.command_id:
        ids[k.META_CORRELATION_ID] = e.correlation_id
    if e.causation_id != e.command_id:
        ids[k.META_CAUSATION_ID] = e.causation_id
    for key, value in ids.items():
        packed = _packed_uuid(value)
        meta.update({k.META_UUID_FORMS[key]: packed} if packed else {key: value})
    if e.schema_version != 1:
        meta[k.META_SCHEMA_VERSION] = e.schema_version
    if e.tenant_id != table_tenant or not table_tenant:
        meta[k.META_TENANT_ID] = e.tenant_id
    if e.payload_hash:
        meta[k.META_PAYLOAD_HASH] = e.payload_hash
    item: Item = {
        k.PARTITION_KEY: {"S": e.aggregate_id},
        k.SORT_KEY: {"N": str(e.version)},
        k.KIND: {"S": k.KIND_EVENT},
        k.EVENT_TYPE: {"S": e.event_type},
        k.DATA: {"S": json.dumps(e.data, separators=_COMPACT)},
        k.META: {"S": json.dumps(meta, separators=_COMPACT)},
    }
    if snapshot is not None:
        item[k.SNAPSHOT_STATE] = {"S": json.dumps(snapshot.state, separators=_COMPACT)}
        item[k.SNAPSHOT_SCHEMA] = {"S": snapshot.schema}
    return item


def decode(item: Item, *, with_snapshot: bool = False, table_tenant: str = "") -> StoredEvent:
    """Only backward reads (aggregate loading) use a snapshot: everyone else skips parsing it.
    An item that leaves its tenant out needs the `table_tenant` it was written with."""
    aggregate_id = item.get(k.PARTITION_KEY, {}).get("S", "?")
    version = int(item.get(k.SORT_KEY, {}).get("N", "0"))
    try:
        meta = _json_object(item[k.META]["S"])
        ids = _ids(meta)
        command_id = ids["command_id"]
        tenant_id = meta.get(k.META_TENANT_ID, table_tenant)
        if not tenant_id:
            raise ValueError("no tenant id in the item and none given for its table")
        envelope = EventEnvelope.model_construct(
            aggregate_id=aggregate_id,
            aggregate_type=meta[k.META_AGGREGATE_TYPE],
            version=version,
            event_id=ids["event_id"],
            event_type=item[k.EVENT_TYPE]["S"],
            schema_version=int(meta.get(k.META_SCHEMA_VERSION, 1)),
            occurred_at=_occurred_at(meta[k.META_OCCURRED_AT]),
            tenant_id=tenant_id,
            command_id=command_id,
            correlation_id=ids.get("correlation_id", command_id),
            causation_id=ids.get("causation_id", command_id),
            actor=meta[k.META_ACTOR],
            data=_json_object(item[k.DATA]["S"]),
            payload_hash=meta.get(k.META_PAYLOAD_HASH, ""),
        )
        snapshot = None
        if with_snapshot and k.SNAPSHOT_STATE in item:
            snapshot = Snapshot(version, item[k.SNAPSHOT_SCHEMA]["S"], _json_object(item[k.SNAPSHOT_STATE]["S"]))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CorruptEventError(aggregate_id, version, f"malformed item: {exc!r}") from exc
    return StoredEvent(envelope, snapshot)


def _ids(meta: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, name in _UUID_FIELDS:
        if key in meta:
            out[name] = meta[key]
        elif (packed := k.META_UUID_FORMS[key]) in meta:
            out[name] = str(uuid.UUID(bytes=base64.urlsafe_b64decode(meta[packed] + "==")))
    if "event_id" not in out or "command_id" not in out:
        raise KeyError("event id or command id")
    return out


def _packed_uuid(value: str) -> str | None:
    """22 base64url characters for a canonical (lower-case, hyphenated) UUID; None for anything
    else, which is stored as it is, so that every id reads back exactly as it was written."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    if str(parsed) != value:
        return None
    return base64.urlsafe_b64encode(parsed.bytes).decode().rstrip("=")


def _instant(occurred_at: str) -> int | str:
    """Microseconds since 1970 when that reads back as the same string; else the string."""
    try:
        # fromisoformat, not strptime: no pure-Python parse (and no locale import) per event written
        moment = datetime.fromisoformat(occurred_at)
    except ValueError:
        return occurred_at
    if moment.tzinfo is None:
        return occurred_at
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return micros if _occurred_at(micros) == occurred_at else occurred_at


def _occurred_at(value: int | str) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"occurred-at {value!r}")
    return (_EPOCH + timedelta(microseconds=value)).strftime(OCCURRED_AT_FORMAT)


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
