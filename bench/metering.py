"""Count AWS calls, bytes and DynamoDB capacity units per operation, with botocore event hooks.

moto does not meter capacity, so units are computed (`bench.sizing`) from the FULL size of every
item an operation reads or writes, as DynamoDB bills it: a projected or filtered read is re-read
whole through an unmetered twin of the client, and a write looks up the item it replaces. The time
those look-ups take is kept apart (`Meter.sizing_seconds`) so that timed figures can leave it out.
Read units are reported as if strongly consistent, so that designs compare like for like;
`rru_billed` halves the eventually consistent ones, as AWS would.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3

from .full_items import FullItems
from .sizing import (
    EVENTUAL,
    STRONG,
    batch_get_read_units,
    get_read_units,
    put_write_units,
    query_read_units,
)

_CONTEXT_KEY = "bench_metering"


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
    bytes_read: int = 0       # full size of the items read (what the read units are billed on)

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


@dataclass
class _Call:
    service: str
    params: dict = field(default_factory=dict)           # as the caller passed them
    before: Any = None                                   # sizes of the items a write replaces


class Meter:
    """Attach to one or more botocore clients; every API call through them is counted here."""

    def __init__(self) -> None:
        self.counts = Counts()
        self.sizing_seconds = 0.0     # spent re-reading full items (not part of any design's cost)

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        full = None
        if client.meta.service_model.service_name == "dynamodb":
            full = FullItems(_twin(client))
        events.register_last("before-parameter-build", self._capture_params)  # after boto3 resources marshal
        events.register("before-call", partial(self._before_call, full))
        events.register("after-call", partial(self._after_call, full))
        return client

    def snapshot(self) -> Counts:
        return self.counts.copy()

    # botocore handlers ---------------------------------------------------------------------------
    @staticmethod
    def _capture_params(params: dict, model: Any, context: dict, **_: Any) -> None:
        context[_CONTEXT_KEY] = _Call(model.service_model.service_name, dict(params))

    def _before_call(self, full: FullItems | None, model: Any, params: dict, context: dict, **_: Any) -> None:
        call = context.setdefault(_CONTEXT_KEY, _Call(model.service_model.service_name))
        body = params.get("body") or b""
        self.counts.by_operation[f"{call.service}.{model.name}"].add(
            OperationCounts(calls=1, request_bytes=len(body.encode() if isinstance(body, str) else body)))
        if full is not None:
            call.before = self._timed(full.before_write, model.name, call.params)

    def _after_call(self, full: FullItems | None, model: Any, http_response: Any, context: dict, **_: Any) -> None:
        call: _Call = context.get(_CONTEXT_KEY) or _Call(model.service_model.service_name)
        one = OperationCounts(response_bytes=len(http_response.content or b""))
        if full is not None:
            ok = http_response.status_code < 300
            one.wru = self._timed(full.write_units, model.name, call.params, call.before, ok)
            if ok:
                # The wire form: boto3 resources rewrite the parsed response in place.
                self._add_read_units(one, full, model.name, call.params, _json(http_response.content))
        self.counts.by_operation[f"{call.service}.{model.name}"].add(one)

    def _add_read_units(self, one: OperationCounts, full: FullItems, operation: str, params: dict,
                        parsed: dict) -> None:
        kind = STRONG if params.get("ConsistentRead") else EVENTUAL
        sizes = self._timed(full.read_sizes, operation, params, parsed)
        if sizes is None:
            return
        if operation in ("Query", "Scan"):
            one.rru, one.rru_billed = query_read_units(sizes), query_read_units(sizes, kind)
        elif operation == "GetItem":
            size = sizes[0] if sizes else 0
            one.rru, one.rru_billed = get_read_units(size), get_read_units(size, kind)
        else:
            one.rru, one.rru_billed = batch_get_read_units(sizes), batch_get_read_units(sizes, kind)
        one.items_read, one.bytes_read = len(sizes), sum(sizes)

    def _timed(self, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.sizing_seconds += time.perf_counter() - started


def _twin(client: Any) -> Any:
    """A client on the same endpoint, not metered: what the meter uses to see whole items."""
    return boto3.session.Session().client(
        "dynamodb", region_name=client.meta.region_name, endpoint_url=client.meta.endpoint_url)


def _json(body: bytes | None) -> dict:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
