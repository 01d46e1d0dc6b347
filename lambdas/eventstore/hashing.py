"""Short, stable fingerprints: of a command payload (idempotency) and of a state schema (snapshots)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

PAYLOAD_HASH_LENGTH = 12  # hex chars; collisions only matter between payloads sharing one command id


def fingerprint(value: Any, length: int = PAYLOAD_HASH_LENGTH) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()[:length]
