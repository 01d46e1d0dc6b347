"""Envelope <-> DynamoDB item (low-level attribute-value form, as the client and Streams see it).

Keys, kind, event type and data are attributes of their own; the rest of the envelope is one
compact JSON attribute (`keys.META`). Correlation and causation ids equal to the command id are
left out and restored on read: most commands start their own conversation, and every byte counts
against the read unit.
"""

from __future__ import annotations

import json
from typing import Any

from . import keys as k
from .envelope import EventEnvelope
from .errors import CorruptEventError
from .store import Snapshot, StoredEvent

Item = dict[str, dict[str, Any]]

_COMPACT = (",", ":")


def encode(envelope: EventEnvelope, snapshot: Snapshot | None = None) -> Item:
    e = envelope
    meta = {
        k.META_AGGREGATE_TYPE: e.aggregate_type, k.META_EVENT_ID: e.event_id, k.META_SCHEMA_VERSION: e.schema_version,
        k.META_OCCURRED_AT: e.occurred_at, k.META_TENANT_ID: e.tenant_id, k.META_COMMAND_ID: e.command_id,
        k.META_ACTOR: e.actor,
    }
    if e.payload_hash:
        meta[k.META_PAYLOAD_HASH] = e.payload_hash
    if e.correlation_id != e.command_id:
        meta[k.META_CORRELATION_ID] = e.correlation_id
    if e.causation_id != e.command_id:
        meta[k.META_CAUSATION_ID] = e.causation_id
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


def decode(item: Item, *, with_snapshot: bool = False) -> StoredEvent:
    """Only backward reads (aggregate loading) use a snapshot: everyone else skips parsing it."""
    aggregate_id = item.get(k.PARTITION_KEY, {}).get("S", "?")
    version = int(item.get(k.SORT_KEY, {}).get("N", "0"))
    try:
        meta = _json_object(item[k.META]["S"])
        command_id = meta[k.META_COMMAND_ID]
        envelope = EventEnvelope.model_construct(
            aggregate_id=aggregate_id,
            aggregate_type=meta[k.META_AGGREGATE_TYPE],
            version=version,
            event_id=meta[k.META_EVENT_ID],
            event_type=item[k.EVENT_TYPE]["S"],
            schema_version=int(meta[k.META_SCHEMA_VERSION]),
            occurred_at=meta[k.META_OCCURRED_AT],
            tenant_id=meta[k.META_TENANT_ID],
            command_id=command_id,
            correlation_id=meta.get(k.META_CORRELATION_ID, command_id),
            causation_id=meta.get(k.META_CAUSATION_ID, command_id),
            actor=meta[k.META_ACTOR],
            data=_json_object(item[k.DATA]["S"]),
            payload_hash=meta.get(k.META_PAYLOAD_HASH, ""),
        )
        snapshot = None
        if with_snapshot and k.SNAPSHOT_STATE in item:
            snapshot = Snapshot(version, item[k.SNAPSHOT_SCHEMA]["S"], _json_object(item[k.SNAPSHOT_STATE]["S"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptEventError(aggregate_id, version, f"malformed item: {exc!r}") from exc
    return StoredEvent(envelope, snapshot)


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
