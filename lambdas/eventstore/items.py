"""Envelope <-> DynamoDB item (low-level attribute-value form, as the client and Streams see it).

Correlation and causation ids equal to the command id are left out of the item and restored on
read: most commands start their own conversation, and every byte counts against the read unit.
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
    item: Item = {
        k.PARTITION_KEY: {"S": e.aggregate_id},
        k.SORT_KEY: {"N": str(e.version)},
        k.KIND: {"S": k.KIND_EVENT},
        k.AGGREGATE_TYPE: {"S": e.aggregate_type},
        k.EVENT_TYPE: {"S": e.event_type},
        k.SCHEMA_VERSION: {"N": str(e.schema_version)},
        k.EVENT_ID: {"S": e.event_id},
        k.OCCURRED_AT: {"S": e.occurred_at},
        k.TENANT_ID: {"S": e.tenant_id},
        k.COMMAND_ID: {"S": e.command_id},
        k.ACTOR: {"S": e.actor},
        k.DATA: {"S": json.dumps(e.data, separators=_COMPACT)},
    }
    if e.payload_hash:
        item[k.PAYLOAD_HASH] = {"S": e.payload_hash}
    if e.correlation_id != e.command_id:
        item[k.CORRELATION_ID] = {"S": e.correlation_id}
    if e.causation_id != e.command_id:
        item[k.CAUSATION_ID] = {"S": e.causation_id}
    if snapshot is not None:
        item[k.SNAPSHOT_STATE] = {"S": json.dumps(snapshot.state, separators=_COMPACT)}
        item[k.SNAPSHOT_SCHEMA] = {"S": snapshot.schema}
    return item


def decode(item: Item) -> StoredEvent:
    aggregate_id = item.get(k.PARTITION_KEY, {}).get("S", "?")
    version = int(item.get(k.SORT_KEY, {}).get("N", "0"))
    try:
        command_id = item[k.COMMAND_ID]["S"]
        envelope = EventEnvelope.model_construct(
            aggregate_id=aggregate_id,
            aggregate_type=item[k.AGGREGATE_TYPE]["S"],
            version=version,
            event_id=item[k.EVENT_ID]["S"],
            event_type=item[k.EVENT_TYPE]["S"],
            schema_version=int(item[k.SCHEMA_VERSION]["N"]),
            occurred_at=item[k.OCCURRED_AT]["S"],
            tenant_id=item[k.TENANT_ID]["S"],
            command_id=command_id,
            correlation_id=item.get(k.CORRELATION_ID, {}).get("S", command_id),
            causation_id=item.get(k.CAUSATION_ID, {}).get("S", command_id),
            actor=item[k.ACTOR]["S"],
            data=_json_object(item[k.DATA]["S"]),
            payload_hash=item.get(k.PAYLOAD_HASH, {}).get("S", ""),
        )
        snapshot = None
        if k.SNAPSHOT_STATE in item:
            snapshot = Snapshot(version, item[k.SNAPSHOT_SCHEMA]["S"], _json_object(item[k.SNAPSHOT_STATE]["S"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptEventError(aggregate_id, version, f"malformed item: {exc!r}") from exc
    return StoredEvent(envelope, snapshot)


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
