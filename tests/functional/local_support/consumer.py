"""A stream consumer that records each batch and fails on records marked `poison`.

`poison: n` fails the first n deliveries of that record, `poison: "always"` every one. With
FAILURE_MODE=partial it reports the record in `batchItemFailures`; with FAILURE_MODE=isolate it
does what the pipeline's handlers do (`lambdas.handlers.poison`): it reports the record, but
raises when the record heads a batch of several; otherwise it raises.
"""

import base64
import json
import os

from lambdas.handlers.poison import PoisonRecord, raise_if_poison_heads
from tenantry.lambda_records import sequence_number
from tests.functional.local_support import sink


def _body(record):
    if "kinesis" in record:
        return json.loads(base64.b64decode(record["kinesis"]["data"]))
    image = record["dynamodb"].get("NewImage", {})
    return {k: next(iter(v.values())) for k, v in image.items()}


def handler(event, context):
    records = event["Records"]
    sink.record(context.function_name, records)
    for record in records:
        poison = _body(record).get("poison")
        if poison is None:
            continue
        attempt = sink.attempt(context.function_name, sequence_number(record))
        if poison == "always" or attempt <= int(poison):
            if os.environ.get("FAILURE_MODE") == "isolate":
                raise_if_poison_heads(records, PoisonRecord(sequence_number(record), "acct", None, "poison"))
            if os.environ.get("FAILURE_MODE") in ("partial", "isolate"):
                return {"batchItemFailures": [{"itemIdentifier": sequence_number(record)}]}
            raise RuntimeError(f"poison record {sequence_number(record)}")
    return {"batchItemFailures": []}
