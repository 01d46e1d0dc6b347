"""Count AWS calls, bytes and DynamoDB capacity units per operation, with botocore event hooks.

moto does not meter capacity, so units are computed from item sizes with DynamoDB's sizing rules
(attribute name bytes + value bytes). Read units are reported as if strongly consistent, so that
designs compare like for like; `rru_billed` halves the eventually consistent ones, as AWS would.
"""

from __future__ import annotations

import base64
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4 * 1024
WRITE_UNIT_BYTES = 1024
_CONTEXT_KEY = "bench_metering"


# -- DynamoDB item sizes ------------------------------------------------------------------------
def number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading/trailing zeros do not count)."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = "".join(map(str, digits)).strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return len(_binary(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(number_size(n) for n in v)
    if kind == "BS":
        return sum(len(_binary(b)) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(x) for name, x in v.items())
    raise ValueError(f"unknown attribute value type {kind!r}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _binary(v: str | bytes) -> bytes:
    # In the JSON wire format binary values are base64 text.
    return base64.b64decode(v) if isinstance(v, str) else v


# -- capacity units -----------------------------------------------------------------------------
def query_read_units(sizes: list[int]) -> int:
    """A Query (or Scan page) is one read: the summed size of all items, rounded up to 4 KB."""
    return max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES))


def get_read_units(size: int) -> int:
    return max(1, math.ceil(size / READ_UNIT_BYTES))


def put_write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def transact_write_units(sizes: list[int]) -> int:
    """Transactions cost two writes per item (prepare + commit)."""
    return sum(2 * put_write_units(s) for s in sizes)


def batch_write_units(sizes: list[int]) -> int:
    return sum(put_write_units(s) for s in sizes)


# -- counters -----------------------------------------------------------------------------------
@dataclass
class OperationCounts:
    calls: int = 0
    request_bytes: int = 0
    response_bytes: int = 0
    rru: float = 0.0          # read units, strongly consistent equivalent
    rru_billed: float = 0.0   # read units as billed (eventually consistent reads at half price)
    wru: float = 0.0
    items_read: int = 0

    def add(self, other: OperationCounts, sign: int = 1) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))


@dataclass
class Counts:
    """Totals and a per-operation breakdown ("dynamodb.Query" -> counts)."""

    by_operation: dict[str, OperationCounts] = field(default_factory=lambda: defaultdict(OperationCounts))

    @property
    def total(self) -> OperationCounts:
        total = OperationCounts()
        for one in self.by_operation.values():
            total.add(one)
        return total

    def copy(self) -> Counts:
        out = Counts()
        for op, one in self.by_operation.items():
            out.by_operation[op].add(one)
        return out

    def __sub__(self, earlier: Counts) -> Counts:
        out = self.copy()
        for op, one in earlier.by_operation.items():
            out.by_operation[op].add(one, sign=-1)
        out.by_operation = defaultdict(
            OperationCounts, {op: c for op, c in out.by_operation.items() if c.calls}
        )
        return out


class Meter:
    """Attach to one or more botocore clients; every API call through them is counted here."""

    def __init__(self) -> None:
        self.counts = Counts()

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)
        return client

    def snapshot(self) -> Counts:
        return self.counts.copy()

    # botocore handlers ---------------------------------------------------------------------------
    def _before_call(self, model: Any, params: dict, context: dict, **_: Any) -> None:
        service = model.service_model.service_name
        body = params.get("body") or b""
        if isinstance(body, str):
            body = body.encode()
        one = OperationCounts(calls=1, request_bytes=len(body))
        request = _json(body) if service == "dynamodb" else {}
        one.wru = _write_units(model.name, request)
        context[_CONTEXT_KEY] = (service, request)
        self.counts.by_operation[f"{service}.{model.name}"].add(one)

    def _after_call(self, model: Any, http_response: Any, context: dict, **_: Any) -> None:
        service, request = context.get(_CONTEXT_KEY, (model.service_model.service_name, {}))
        content = http_response.content or b""
        one = OperationCounts(response_bytes=len(content))
        if service == "dynamodb" and http_response.status_code < 300:
            _add_read_units(one, model.name, request, _json(content))
        self.counts.by_operation[f"{service}.{model.name}"].add(one)


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _write_units(operation: str, request: dict) -> float:
    if operation == "PutItem":
        return put_write_units(item_size(request.get("Item", {})))
    if operation == "TransactWriteItems":
        sizes = [item_size(t["Put"]["Item"]) if "Put" in t else 1 for t in request.get("TransactItems", [])]
        return transact_write_units(sizes)
    if operation == "BatchWriteItem":
        sizes = [
            item_size(w["PutRequest"]["Item"]) if "PutRequest" in w else 1
            for writes in request.get("RequestItems", {}).values() for w in writes
        ]
        return batch_write_units(sizes)
    if operation in ("UpdateItem", "DeleteItem"):
        return 1  # size of the stored item unknown from the request; none of the measured paths use them
    return 0


def _add_read_units(one: OperationCounts, operation: str, request: dict, response: dict) -> None:
    consistent = bool(request.get("ConsistentRead"))
    if operation in ("Query", "Scan"):
        sizes = [item_size(i) for i in response.get("Items", [])]
        one.rru = query_read_units(sizes)
        one.items_read = len(sizes)
    elif operation == "GetItem":
        one.rru = get_read_units(item_size(response.get("Item", {})))
        one.items_read = 1 if "Item" in response else 0
    else:
        return
    one.rru_billed = one.rru if consistent else one.rru / 2
