"""Poison records in stream batches, and how a handler gets Lambda to isolate them.

A poison record is one that can never succeed: retrying the same bytes fails the same way (an
undecodable item, an unknown event type, a gap the event store cannot fill). Lambda's checkpoint
rules for Kinesis and DynamoDB Streams (AWS Lambda developer guide, "Configuring partial batch
response with Kinesis Data Streams and Lambda" and "... with DynamoDB and Lambda"):

- a partial batch response checkpoints just before the LOWEST sequence number it names, and Lambda
  retries every record from there; records after it that already succeeded are delivered again;
- with BisectBatchOnFunctionError as well, "the batch is bisected at the returned sequence number
  and Lambda retries only the remaining records": the cut is AT the named record, not halfway;
- only a failed invocation halves a batch: "If your invocation fails and BisectBatchOnFunctionError
  is turned on, the batch is bisected regardless of your ReportBatchItemFailures setting."

So naming a poison record that HEADS its batch moves nothing: Lambda would retry the same batch
until its retries run out, then park the poison together with every healthy record behind it in
one on-failure message. `raise_if_poison_heads` turns exactly that case into a function error,
which Lambda bisects until the poison is alone in its batch; from there the handler names it in a
partial batch response like any other failure, and it reaches the on-failure queue by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PoisonRecord:
    sequence_number: str         # the stream's (what a partial batch response names)
    aggregate_id: str
    version: int | None          # None: the record did not say (undecodable)
    reason: str


class PoisonHeadsBatchError(Exception):
    """The first record of a batch of several is poison: fail the invocation so Lambda bisects."""

    def __init__(self, poison: PoisonRecord, batch_size: int) -> None:
        at = "" if poison.version is None else f" v{poison.version}"
        super().__init__(f"record {poison.sequence_number} ({poison.aggregate_id}{at}) heads a batch of "
                         f"{batch_size} and can never succeed: {poison.reason}")
        self.poison = poison
        self.batch_size = batch_size


def sequence_number(record: dict) -> str:
    """The identifier a partial batch response names a Kinesis or DynamoDB Streams record by."""
    if "kinesis" in record:
        return record["kinesis"]["sequenceNumber"]
    return record["dynamodb"]["SequenceNumber"]


def raise_if_poison_heads(records: Sequence[dict], first_failure: PoisonRecord | None) -> None:
    """`first_failure`: the batch's earliest failed record when it is poison, else None."""
    if first_failure is None or len(records) < 2:
        return      # alone in its batch, the partial batch response parks exactly this record
    if sequence_number(records[0]) == first_failure.sequence_number:
        raise PoisonHeadsBatchError(first_failure, len(records))
