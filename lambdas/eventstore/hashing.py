"""Short, stable fingerprints: of a command payload (idempotency) and of a state schema (snapshots)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

PAYLOAD_HASH_LENGTH = 12  # hex chars; collisions only matter between payloads sharing one command id


def fingerprint(value: Any, length: int = PAYLOAD_HASH_LENGTH) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()[:length]


COMMAND_KEY_BYTES = 9   # 72 bits, 12 base64url characters, whatever the length of the command id


def command_key(command_id: str) -> str:
    """What the recent-command window keys a command by: a fixed 12 characters instead of an id
    of up to 64, because the window rides on every snapshot and DynamoDB bills its bytes on every
    load. A collision only matters between two of the few commands one aggregate applied lately."""
    digest = hashlib.blake2b(command_id.encode(), digest_size=COMMAND_KEY_BYTES).digest()
    return base64.urlsafe_b64encode(digest).decode()
