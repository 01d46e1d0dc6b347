"""Kinesis -> S3: each batch becomes one gzip JSON-lines object of envelopes, so history can be
replayed beyond the stream and DynamoDB Streams retention windows.

Key: `archive/<tenant>/<yyyy>/<mm>/<dd>/<shard>/<first-seq>-<last-seq>.jsonl.gz`, where the date is
the arrival time of the batch's first record. Everything in the key comes from the records, so a
redelivered batch overwrites the same object (gzip's header timestamp is pinned for the same
reason: identical batches give identical bytes). A batch that fails is retried as a whole; a
bisected retry writes smaller, overlapping objects, which replay deduplicates by version.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer

from lambdas.eventstore import keys as k
from lambdas.handlers import telemetry
from lambdas.handlers.settings import Settings

logger = Logger(service="archiver")
tracer = Tracer(service="archiver")
metrics = telemetry.handler_metrics("archiver")


def shard_of(record: dict) -> str:
    # Lambda's Kinesis eventID is "<shardId>:<sequenceNumber>".
    return record.get("eventID", "shardId-unknown:").split(":", 1)[0]


def archive_key(tenant: str, records: Sequence[dict]) -> str:
    first, last = records[0]["kinesis"], records[-1]["kinesis"]
    arrived = datetime.fromtimestamp(float(first["approximateArrivalTimestamp"]), UTC)
    return (f"{k.ARCHIVE_PREFIX}{tenant}/{arrived:%Y/%m/%d}/{shard_of(records[0])}/"
            f"{first['sequenceNumber']}-{last['sequenceNumber']}.jsonl.gz")


def archive_body(records: Sequence[dict]) -> bytes:
    lines = [base64.b64decode(r["kinesis"]["data"]).rstrip(b"\n") for r in records]
    return gzip.compress(b"\n".join(lines) + b"\n", mtime=0)


class Archiver:
    def __init__(self, tenant: str, bucket: str, client: Any = None) -> None:
        self.tenant = tenant
        self.bucket = bucket
        self.client = client or boto3.client("s3")

    def archive(self, records: Sequence[dict]) -> str | None:
        if not records:
            return None
        key = archive_key(self.tenant, records)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=archive_body(records),
                               ContentType="application/x-ndjson")
        return key


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Read once per container: a function's environment does not change while it is warm."""
    return Settings.from_env()


@lru_cache(maxsize=1)
def archiver() -> Archiver:
    return Archiver(settings().tenant_id, settings().archive_bucket)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    logger.append_keys(tenant_id=settings().tenant_id)
    telemetry.for_tenant(metrics, settings().tenant_id)
    records = event.get("Records", [])
    key = archiver().archive(records)
    logger.info("archived", extra={"key": key, "records": len(records)})
    telemetry.count(metrics, telemetry.EVENTS_ARCHIVED, len(records))
    # All or nothing: a failed put raises, and Lambda retries (or bisects) the batch.
    return {"batchItemFailures": []}
