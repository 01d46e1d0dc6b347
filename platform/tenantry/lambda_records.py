"""Lambda-shaped stream records and on-failure destination records, as pure functions of what a
GetRecords call returned (already parsed by botocore: bytes for blobs, datetimes for times).

Shared by the local platform's pollers and by the ops tools (`tenantry redrive`, the in-process
pipeline driver), so every handler sees records of one shape, the one Lambda delivers.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from lambdas.handlers.poison import sequence_number  # noqa: F401 - what a partial batch response names

SourceKind = Literal["dynamodb", "kinesis"]


def kinesis_record(raw: dict[str, Any], *, shard_id: str, stream_arn: str, region: str) -> dict[str, Any]:
    arrival = raw["ApproximateArrivalTimestamp"]   # botocore: a datetime; raw JSON: epoch seconds
    seconds = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": raw["PartitionKey"],
            "sequenceNumber": raw["SequenceNumber"],
            "data": base64.b64encode(raw["Data"]).decode("ascii"),
            "approximateArrivalTimestamp": round(seconds, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{raw['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{stream_arn.split(':')[4]}:role/tenantry-local",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def dynamodb_record(raw: dict[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    change = dict(raw["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = _json_blobs(change[image])
    record = {
        "eventID": raw.get("eventID") or uuid.uuid4().hex,
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }
    if raw.get("userIdentity"):
        record["userIdentity"] = raw["userIdentity"]
    return record


def arrival(record: dict[str, Any]) -> float:
    """Epoch seconds at which the record reached the stream."""
    if "kinesis" in record:
        return float(record["kinesis"]["approximateArrivalTimestamp"])
    return float(record["dynamodb"].get("ApproximateCreationDateTime", 0))


def on_failure_record(
    *,
    kind: SourceKind,
    batch: list[dict[str, Any]],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,            # RetryAttemptsExhausted | RecordAgeExceeded
    invoke_count: int,
    function_error: str | None,  # "Unhandled" when the handler raised; None for partial failures
    request_id: str,
) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination: pointers to the batch, not its data."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    info = {
        "shardId": shard_id,
        "startSequenceNumber": sequence_number(batch[0]),
        "endSequenceNumber": sequence_number(batch[-1]),
        "approximateArrivalOfFirstRecord": _iso(arrival(batch[0])),
        "approximateArrivalOfLastRecord": _iso(arrival(batch[-1])),
        "batchSize": len(batch),
        "streamArn": stream_arn,
    }
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(datetime.now(timezone.utc).timestamp()),
        "KinesisBatchInfo" if kind == "kinesis" else "DDBStreamBatchInfo": info,
    }


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json_blobs(value: Any) -> Any:
    # botocore decodes B/BS attribute values to bytes; Lambda delivers them base64-encoded.
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _json_blobs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_blobs(v) for v in value]
    return value
