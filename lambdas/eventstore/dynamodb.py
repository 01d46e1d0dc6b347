"""DynamoDB implementation of the `EventStore` port.

One item per event (key: aggregate id + version). Appends are conditional on the version not
existing; several aggregates are appended in one TransactWriteItems. Snapshots ride on the event
item they fold up to, so taking one costs no extra request; a state too large for an item spills
to S3 behind a pointer attribute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from . import items
from . import keys as k
from .errors import ConcurrencyError, TransactionTooLargeError
from .store import AppendRequest, Snapshot, StoredEvent

SPILL_THRESHOLD_BYTES = 350 * 1024
_NOT_EXISTS = f"attribute_not_exists({k.PARTITION_KEY})"
# What a fold reads: the key and kind are known already. Billing is by whole item regardless; this
# only trims what has to be marshalled back.
_FOLD_ATTRIBUTES = (k.SORT_KEY, k.EVENT_TYPE, k.DATA, k.META, k.SNAPSHOT_STATE, k.SNAPSHOT_SCHEMA, k.SNAPSHOT_POINTER)
_FOLD_PROJECTION = ", ".join(f"#{i}" for i in range(len(_FOLD_ATTRIBUTES)))
_FOLD_NAMES = {f"#{i}": name for i, name in enumerate(_FOLD_ATTRIBUTES)}


class SnapshotSpill(Protocol):
    def put(self, key: str, body: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...


class S3SnapshotSpill:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        # Created on first use: almost no aggregate ever spills, so most containers never pay for it.
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


class DynamoDBEventStore:
    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        tenant_id: str = "",
        spill: SnapshotSpill | None = None,
    ) -> None:
        self.table_name = table_name
        self.client = client or boto3.client("dynamodb")
        self.tenant_id = tenant_id
        self.spill = spill

    # -- writes ---------------------------------------------------------------------------------
    def append(self, request: AppendRequest) -> None:
        if len(request.events) != 1:
            self.append_atomically((request,))
            return
        item = self._encode_last(request, request.events[0])
        try:
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression=_NOT_EXISTS)
        except ClientError as exc:
            # TransactionConflict: a transfer's transaction holds the item right now. Either way
            # another writer is ahead of us: reload, re-decide.
            if exc.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionConflictException"):
                raise ConcurrencyError(request.aggregate_id, request.expected_version) from exc
            raise

    def append_atomically(self, requests: Sequence[AppendRequest]) -> None:
        puts: list[tuple[AppendRequest, dict]] = []
        for r in requests:
            for i, envelope in enumerate(r.events):
                last = i == len(r.events) - 1
                item = self._encode_last(r, envelope) if last else items.encode(envelope, table_tenant=self.tenant_id)
                puts.append((r, {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": _NOT_EXISTS}}))
        if len(puts) > k.MAX_TRANSACT_ITEMS:
            raise TransactionTooLargeError(len(puts), k.MAX_TRANSACT_ITEMS)
        try:
            self.client.transact_write_items(TransactItems=[p for _, p in puts])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            for (request, _), reason in zip(puts, reasons):
                if reason.get("Code") in ("ConditionalCheckFailed", "TransactionConflict"):
                    raise ConcurrencyError(request.aggregate_id, request.expected_version) from exc
            raise

    def _encode_last(self, request: AppendRequest, envelope: Any) -> dict:
        snapshot = request.snapshot
        item = items.encode(envelope, snapshot, table_tenant=self.tenant_id)
        if snapshot is not None and len(item[k.SNAPSHOT_STATE]["S"]) > SPILL_THRESHOLD_BYTES:
            if self.spill is None:
                raise ValueError(f"{request.aggregate_id}: snapshot over {SPILL_THRESHOLD_BYTES} bytes and no spill bucket")
            # Unique per attempt: two writers racing for this version must not overwrite each
            # other's state, or the winner's item could point at the loser's snapshot.
            key = (f"{k.SNAPSHOT_PREFIX}{envelope.tenant_id}/{request.aggregate_id}/"
                   f"{snapshot.version}-{envelope.event_id}.json")
            self.spill.put(key, item.pop(k.SNAPSHOT_STATE)["S"].encode())
            item[k.SNAPSHOT_POINTER] = {"S": key}
        return item

    # -- reads ----------------------------------------------------------------------------------
    def read_backward(self, aggregate_id: str, *, before_version: int | None, limit: int) -> list[StoredEvent]:
        condition = "#pk = :a"
        values: dict[str, Any] = {":a": {"S": aggregate_id}}
        if before_version is not None:
            condition += " AND #0 < :b"
            values[":b"] = {"N": str(before_version)}
        page = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ProjectionExpression=_FOLD_PROJECTION,
            ExpressionAttributeNames=_FOLD_NAMES | {"#pk": k.PARTITION_KEY},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        key = {"S": aggregate_id}
        return [self._decode(item | {k.PARTITION_KEY: key}, with_snapshot=True) for item in page.get("Items", [])]

    def read(self, aggregate_id: str, *, from_version: int = 1, to_version: int | None = None) -> Iterator[StoredEvent]:
        upper = to_version if to_version is not None else 2**62
        kwargs: dict[str, Any] = dict(
            TableName=self.table_name,
            KeyConditionExpression=f"{k.PARTITION_KEY} = :a AND {k.SORT_KEY} BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":a": {"S": aggregate_id}, ":lo": {"N": str(from_version)}, ":hi": {"N": str(upper)}},
            ConsistentRead=True,
        )
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                yield self._decode(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _decode(self, item: dict, *, with_snapshot: bool = False) -> StoredEvent:
        """Forward reads (replay, gap fill, time travel) never use snapshots, so only backward
        reads fetch a spilled one. A spilled snapshot that cannot be fetched is ignored like any
        untrusted snapshot: the events are folded instead."""
        stored = items.decode(item, with_snapshot=with_snapshot, table_tenant=self.tenant_id)
        pointer = item.get(k.SNAPSHOT_POINTER, {}).get("S")
        if not (with_snapshot and pointer and self.spill is not None):
            return stored
        try:
            state = json.loads(self.spill.get(pointer))
        except (ClientError, ValueError):
            return stored
        schema = item.get(k.SNAPSHOT_SCHEMA, {}).get("S", "")
        return replace(stored, snapshot=Snapshot(stored.envelope.version, schema, state))
