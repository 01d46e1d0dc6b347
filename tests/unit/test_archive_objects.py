"""Why the archive has no storage-class transition: its objects are far below what S3 lifecycle moves."""

from __future__ import annotations

import base64
import hashlib

import pytest

from lambdas.eventstore.envelope import EventEnvelope
from lambdas.handlers.archiver import archive_body
from tenantry.components.bucket import LIFECYCLE_MIN_TRANSITION_BYTES

pytestmark = pytest.mark.unit

BATCH = 100     # the archiver's event source mapping batch size (components/platform.py)


def record(i: int) -> dict:
    digest = lambda s: hashlib.sha256(f"{s}{i}".encode()).hexdigest()  # noqa: E731 (incompressible ids)
    envelope = EventEnvelope(
        aggregate_id=f"acc-{i % 17}", aggregate_type="Account", version=i + 1, event_id=digest("e")[:26],
        event_type="MoneyDeposited", schema_version=1, occurred_at="2026-05-01T10:00:00.123456Z", tenant_id="acme",
        command_id=digest("c")[:32], correlation_id=digest("r")[:36], causation_id=digest("c")[:32], actor="api-key",
        data={"amount": 4200 + i, "balance_after": 10_000 + i, "currency": "EUR"}, payload_hash=digest("p"))
    return {"kinesis": {"data": base64.b64encode(envelope.to_json().encode()).decode()}}


def test_a_full_archive_batch_is_far_below_the_lifecycle_transition_minimum():
    # GIVEN the largest batch the archiver receives, of typical envelopes
    body = archive_body([record(i) for i in range(BATCH)])
    # THEN its object is under a quarter of what a lifecycle transition would move (about 15 KB):
    # tiering it would need compaction, which the README weighs and declines
    assert len(body) < LIFECYCLE_MIN_TRANSITION_BYTES / 4
