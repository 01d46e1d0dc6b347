"""What a DynamoDB call read or replaced, whole: the sizes `bench.sizing` bills on.

A response shows only what a ProjectionExpression keeps and a FilterExpression lets through, but
DynamoDB bills every item the key condition (and Limit) made it read, whole. So a projected or
filtered read is issued again through an unmetered client with the same key condition, Limit and
start key and nothing else; a write looks up the item it replaces before it is sent (and an update
the item after), because a write is billed on the larger of the two.
"""

from __future__ import annotations

import re
from typing import Any

from .sizing import Item, item_size, put_write_units

_TRIMMING = ("ProjectionExpression", "AttributesToGet", "FilterExpression", "QueryFilter", "ScanFilter",
             "ConditionalOperator", "Select", "ReturnConsumedCapacity")
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


class FullItems:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._key_names: dict[str, tuple[str, ...]] = {}

    # -- reads ----------------------------------------------------------------------------------
    def read_sizes(self, operation: str, params: dict, parsed: dict) -> list[int] | None:
        """Full sizes of the items the read went through; None for an operation that reads nothing."""
        if operation in ("Query", "Scan"):
            if not any(name in params for name in _TRIMMING):
                return [item_size(i) for i in parsed.get("Items", [])]
            page = getattr(self.client, operation.lower())(**_untrimmed(params))
            return [item_size(i) for i in page.get("Items", [])]
        if operation == "GetItem":
            item = self._get(params["TableName"], params["Key"]) if _trims(params) else parsed.get("Item")
            return [item_size(item)] if item else []
        if operation == "BatchGetItem":
            return [item_size(item) for table, request in params["RequestItems"].items()
                    for key in request["Keys"] if (item := self._get(table, key))]
        return None

    # -- writes ---------------------------------------------------------------------------------
    def before_write(self, operation: str, params: dict) -> Any:
        """Sizes of the items the write will replace (0: none), in the order `write_units` reads them."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return self._size_there(params["TableName"], params.get("Key") or params["Item"])
        if operation == "TransactWriteItems":
            return [self._size_there(one["TableName"], one.get("Key") or one["Item"])
                    for action in params["TransactItems"] for one in action.values()]
        if operation == "BatchWriteItem":
            return [self._size_there(table, _write_key(w))
                    for table, writes in params["RequestItems"].items() for w in writes]
        return None

    def write_units(self, operation: str, params: dict, before: Any, ok: bool) -> float:
        if operation == "PutItem":
            return put_write_units(item_size(params["Item"]) if ok else 0, before)
        if operation == "UpdateItem":
            after = self._size_there(params["TableName"], params["Key"]) if ok else 0
            return put_write_units(after, before)
        if operation == "DeleteItem":
            return put_write_units(0, before)
        if operation == "TransactWriteItems":
            actions = [(kind, one) for action in params["TransactItems"] for kind, one in action.items()]
            return sum(2 * put_write_units(self._transact_after(kind, one, ok), old)
                       for (kind, one), old in zip(actions, before))
        if operation == "BatchWriteItem":
            writes = [w for ws in params["RequestItems"].values() for w in ws]
            return sum(put_write_units(item_size(w["PutRequest"]["Item"]) if "PutRequest" in w else 0, old)
                       for w, old in zip(writes, before))
        return 0

    def _transact_after(self, kind: str, one: dict, ok: bool) -> int:
        # A cancelled transaction is billed like the attempt (on what each item is, or would be).
        if kind == "Put":
            return item_size(one["Item"])
        if kind == "Update" and ok:
            return self._size_there(one["TableName"], one["Key"])
        return 0

    # -- lookups --------------------------------------------------------------------------------
    def _size_there(self, table: str, item_or_key: Item) -> int:
        key = {name: item_or_key[name] for name in self._keys(table)}
        item = self._get(table, key)
        return item_size(item) if item else 0

    def _get(self, table: str, key: Item) -> Item | None:
        return self.client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _keys(self, table: str) -> tuple[str, ...]:
        if table not in self._key_names:
            schema = self.client.describe_table(TableName=table)["Table"]["KeySchema"]
            self._key_names[table] = tuple(k["AttributeName"] for k in schema)
        return self._key_names[table]


def _trims(params: dict) -> bool:
    return "ProjectionExpression" in params or "AttributesToGet" in params


def _untrimmed(params: dict) -> dict:
    """The same read with nothing that trims its response, and only the placeholders the key
    condition still uses (DynamoDB refuses unused ones)."""
    out = {name: value for name, value in params.items() if name not in _TRIMMING}
    used = set(_PLACEHOLDER.findall(out.get("KeyConditionExpression", "")))
    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {p: v for p, v in out.pop(name, {}).items() if p in used}
        if kept:
            out[name] = kept
    return out


def _write_key(write: dict) -> Item:
    return write["PutRequest"]["Item"] if "PutRequest" in write else write["DeleteRequest"]["Key"]
