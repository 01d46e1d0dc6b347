"""DynamoDB implementation of the projection `ReadModel` port: a rows table (one item per
aggregate) and an entries table (one item per event, keyed by aggregate id + version).

A commit is the aggregate's new entries (BatchWriteItem, 25 per request) followed by its row, a
PutItem conditional on the stored version: one conditional write per aggregate per batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError

from .projection import Commit, ReadModelConflictError, Row

_BATCH_GET = 100
_BATCH_WRITE = 25


def to_item(value: Row) -> dict[str, dict[str, Any]]:
    item: dict[str, dict[str, Any]] = {}
    for name, v in value.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise TypeError(f"read-model attribute {name}: unsupported {type(v).__name__}")
        item[name] = {"N": str(v)} if isinstance(v, int) else {"S": v}
    return item


def from_item(item: dict[str, dict[str, Any]]) -> Row:
    return {name: int(v["N"]) if "N" in v else v["S"] for name, v in item.items()}


class DynamoDBReadModel:
    def __init__(self, rows_table: str, entries_table: str, *, row_key: str, version_field: str = "version",
                 client: Any = None) -> None:
        self.rows_table = rows_table
        self.entries_table = entries_table
        self.row_key = row_key
        self.version_field = version_field
        self.client = client or boto3.client("dynamodb")

    def load_rows(self, aggregate_ids: Sequence[str]) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for start in range(0, len(aggregate_ids), _BATCH_GET):
            keys = [{self.row_key: {"S": aid}} for aid in aggregate_ids[start:start + _BATCH_GET]]
            request = {self.rows_table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                for item in page.get("Responses", {}).get(self.rows_table, []):
                    row = from_item(item)
                    rows[row[self.row_key]] = row
                request = page.get("UnprocessedKeys") or {}
        return rows

    def commit(self, commit: Commit) -> None:
        # Entries first (BatchWriteItem), then the row (conditional PutItem). An entry is a pure
        # function of the event history, so writing it twice, or from two projectors, is harmless;
        # the row's condition is what orders writers. Readers may see a ledger entry a moment before
        # the row that reflects it, never the reverse. Not a transaction on purpose: a
        # TransactWriteItems costs twice the write units per item.
        self._batch_write(list(commit.entries))
        if commit.expected_version == 0:
            condition, extra = f"attribute_not_exists({self.row_key})", {}
        else:
            condition, extra = "#v = :expected", {
                "ExpressionAttributeNames": {"#v": self.version_field},
                "ExpressionAttributeValues": {":expected": {"N": str(commit.expected_version)}}}
        try:
            self.client.put_item(TableName=self.rows_table, Item=to_item(commit.row), ConditionExpression=condition, **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ReadModelConflictError(commit.aggregate_id, commit.expected_version) from exc
            raise

    def _batch_write(self, entries: Sequence[Row]) -> None:
        for start in range(0, len(entries), _BATCH_WRITE):
            request = {self.entries_table: [{"PutRequest": {"Item": to_item(e)}}
                                            for e in entries[start:start + _BATCH_WRITE]]}
            attempt = 0
            while request:
                if attempt:  # throttled: DynamoDB handed items back; back off before resending them
                    time.sleep(min(0.05 * 2**attempt, 2.0))
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                attempt += 1

    # -- reads for verification and replay ------------------------------------------------------
    def scan_rows(self) -> dict[str, Row]:
        return {row[self.row_key]: row for row in self._scan(self.rows_table)}

    def scan_entries(self, entry_key: str) -> dict[tuple[str, int], Row]:
        return {(e[entry_key], e[self.version_field]): e for e in self._scan(self.entries_table)}

    def _scan(self, table: str) -> list[Row]:
        out: list[Row] = []
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            out.extend(from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
