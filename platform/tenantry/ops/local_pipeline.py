"""Drive the event pipeline in-process, the way the event source mappings would: DynamoDB stream
batches into the publisher handler, Kinesis batches into the projector and archiver handlers.

Used by the functional tests and `bench.projector` against moto. The handlers run unchanged; they
find their resources through the Lambda environment (`lambda_environment`), so the caller sets it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lambdas.handlers import settings

from ..components.naming import CONSUMERS
from ..local.emulator import FAKE_ACCOUNT_ID
from .resources import Clients, DynamoDBStreamPump, KinesisPump, PipelineNames

Handler = Callable[[dict, Any], dict]


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{FAKE_ACCOUNT_ID}:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


# What in-process runs on moto set besides `lambda_environment`: Powertools quiet (no metrics
# flush, no X-Ray, errors only) and a region and fake credentials for boto3 inside the handlers.
QUIET_ENV = {
    "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
}


def lambda_environment(names: PipelineNames, graphql_url: str = "", snapshot_interval: int = 10) -> dict[str, str]:
    return {
        settings.TENANT_ID: names.tenant, settings.EVENTS_TABLE: names.events_table,
        settings.ACCOUNTS_TABLE: names.accounts_table, settings.LEDGER_TABLE: names.ledger_table,
        settings.EVENT_STREAM: names.stream, settings.ARCHIVE_BUCKET: names.bucket,
        settings.GRAPHQL_URL: graphql_url, settings.SNAPSHOT_INTERVAL: str(snapshot_interval),
    }


@dataclass
class PipelineRun:
    invocations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONSUMERS, 0))
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONSUMERS, 0))
    failures: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in CONSUMERS})


class LocalPipeline:
    def __init__(self, clients: Clients, names: PipelineNames, stream_arn: str, *, batch_size: int = 100,
                 handlers: dict[str, Handler] | None = None, archive: bool = True) -> None:
        from lambdas.handlers import archiver, projector, publisher

        self.batch_size = batch_size
        self.handlers = {"publisher": publisher.handler, "projector": projector.handler, "archiver": archiver.handler}
        self.handlers.update(handlers or {})
        self.archive = archive
        self.ddb_stream = DynamoDBStreamPump(clients.streams, stream_arn)
        self.projector_feed = KinesisPump(clients.kinesis, names.stream)
        self.archiver_feed = KinesisPump(clients.kinesis, names.stream)   # its own iterators, like its own mapping

    def drain(self, run: PipelineRun | None = None) -> PipelineRun:
        run = run or PipelineRun()
        for batch in self.ddb_stream.batches(self.batch_size):
            self._invoke(run, "publisher", batch)
        for _, batch in self.projector_feed.batches(self.batch_size):
            self._invoke(run, "projector", batch)
        if self.archive:
            for _, batch in self.archiver_feed.batches(self.batch_size):
                self._invoke(run, "archiver", batch)
        return run

    def _invoke(self, run: PipelineRun, function: str, records: list[dict]) -> None:
        response = self.handlers[function]({"Records": records}, FakeLambdaContext(function_name=function))
        run.invocations[function] += 1
        run.records[function] += len(records)
        run.failures[function].extend((response or {}).get("batchItemFailures", []))
