"""Where the test handlers report what they received (an ordinary shared module, unlike the
handler modules, which the runtime loads once per tenant and function)."""

from __future__ import annotations

import threading
from collections import defaultdict

_lock = threading.Lock()
batches: dict[str, list[list[dict]]] = defaultdict(list)   # function name -> batches received
_attempts: dict[tuple[str, str], int] = defaultdict(int)


def record(function: str, records: list[dict]) -> None:
    with _lock:
        batches[function].append(records)


def attempt(function: str, sequence_number: str) -> int:
    """How many times this record has been seen failing-eligible, including now."""
    with _lock:
        _attempts[function, sequence_number] += 1
        return _attempts[function, sequence_number]


def reset() -> None:
    with _lock:
        batches.clear()
        _attempts.clear()
