"""DynamoDB item sizes and capacity units, as AWS bills them: pure functions, no I/O.

Sizes follow "Item sizes and formats" of the DynamoDB developer guide: an item is the sum of its
attribute names (UTF-8 bytes) and values; strings are UTF-8 bytes, binaries their bytes, numbers
about one byte per two significant digits plus one, booleans and nulls one byte, lists and maps
3 bytes plus 1 per element (plus each element's own size; map keys count as names).

Units follow "Capacity unit consumption": a read is billed on the FULL size of every item it
reads, whatever a ProjectionExpression or FilterExpression leaves in the response; a strongly
consistent read costs 1 unit per 4 KB, an eventually consistent one half that, a transactional one
twice that. A Query or Scan page sums the sizes of all the items it read and rounds once; GetItem
and each item of BatchGetItem round on their own. A write costs 1 unit per 1 KB of the larger of
the item before and after, rounded up per item (at least 1: a failed conditional write is billed
on the item that is there); transactional writes cost twice that.
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4 * 1024
WRITE_UNIT_BYTES = 1024
EVENTUAL, STRONG, TRANSACTIONAL = 0.5, 1.0, 2.0     # read unit multipliers by read kind

Item = dict[str, dict[str, Any]]


# -- sizes --------------------------------------------------------------------------------------
def number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading/trailing zeros and the sign do not count)."""
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


def item_size(item: Item) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _binary(v: str | bytes) -> bytes:
    # In the JSON wire format binary values are base64 text; through the SDK they are bytes.
    return base64.b64decode(v) if isinstance(v, str) else v


# -- units --------------------------------------------------------------------------------------
def query_read_units(sizes: list[int], kind: float = STRONG) -> float:
    """A Query (or Scan page) is one read: the summed size of all items READ, rounded up to 4 KB."""
    return max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES)) * kind


def get_read_units(size: int, kind: float = STRONG) -> float:
    return max(1, math.ceil(size / READ_UNIT_BYTES)) * kind


def batch_get_read_units(sizes: list[int], kind: float = STRONG) -> float:
    """Each item of a BatchGetItem rounds up on its own."""
    return sum(get_read_units(s, kind) for s in sizes)


def put_write_units(size: int, before: int = 0) -> int:
    """One write of an item of `size` bytes over one of `before` bytes (0: none there)."""
    return max(1, math.ceil(max(size, before) / WRITE_UNIT_BYTES))


def transact_write_units(sizes: list[int]) -> int:
    """Transactions cost two writes per item (prepare + commit)."""
    return sum(2 * put_write_units(s) for s in sizes)


def batch_write_units(sizes: list[int]) -> int:
    return sum(put_write_units(s) for s in sizes)
