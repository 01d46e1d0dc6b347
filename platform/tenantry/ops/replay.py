"""Blue/green rebuild of the read models: build into the standby slot, verify, then switch.

The slots are declared by the Pulumi program from the tenant file (`read_models: {active, standby}`;
`tenantry dev` provisions the same declaration), so the target tables always exist with the live
tables' settings (KMS, PITR, GSI); replay never creates a table. A target that holds rows (an
earlier build, or the slot retired by the previous switch) is cleared first: the rebuild must be
exactly the fold of the event store.

Sources: the event store (a scan for aggregate ids, then the runtime's catch-up brings chunks of
them to the head of the store, reading each aggregate from the version its row reflects) or the S3
archive (every `archive/<tenant>/...jsonl.gz` object, deduplicated by aggregate + version:
bisected retries may have archived a record twice). Either way the events go through the same
projection runtime as the projector (`build_runtime`).

Verify: every aggregate of the id snapshot taken before the build must equal the projection folded
over the event store up to the version its built row reflects, row for row and entry for entry
(live traffic keeps appending: later events and later aggregates are left to the catch-up pass);
a mismatch stops before the switch.

Switch (`tenantry.ops.switch`): the tenant file's `read_models.active` names the rebuilt slot;
`pulumi up` (or the local dev server's re-apply) re-points the AppSync data sources and the
projector. Catch-up (`rebuild(..., clear=False)` on the now-active slot) applies what arrived
between build and switch: the version guard skips what is there, gap fill does the rest.
"""

from __future__ import annotations

import gzip
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.projections import ACCOUNTS
from lambdas.eventstore import keys as k
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.projection import BatchOutcome, Entry, ProjectionStats, Row
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from lambdas.handlers.projector import build_runtime

from .resources import Clients, PipelineNames


CHUNK = 100    # aggregates per projection pass: one BatchGetItem of their rows


class ReplayError(Exception):
    pass


class ReplayVerificationError(ReplayError):
    def __init__(self, mismatched: list[str]) -> None:
        super().__init__(f"{len(mismatched)} aggregates differ from the event store fold: {mismatched[:10]}")
        self.mismatched = mismatched


class ReplayFailedError(ReplayError):
    def __init__(self, failed: dict[str, Exception]) -> None:
        super().__init__(f"{len(failed)} aggregates could not be projected: {sorted(failed)[:10]}")
        self.failed = failed


class ReplayTargetMissingError(ReplayError):
    def __init__(self, tables: list[str]) -> None:
        super().__init__(f"target tables do not exist: {', '.join(tables)} (declare them: set "
                         "read_models.standby: true and `pulumi up` (or restart tenantry dev) first)")
        self.tables = tables


class Progress:
    """A one-line progress bar on stderr (a plain line per update when stderr is not a TTY)."""

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.label, self.stream, self.width, self.done = max(total, 1), label, stream, width, 0
        self._tty = getattr(stream, "isatty", lambda: False)()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._tty or self.done == self.total or self.done % max(self.total // 10, 1) == 0:
            filled = self.width * min(self.done, self.total) // self.total
            end = "" if self._tty and self.done < self.total else "\n"
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total}{end}")
            self.stream.flush()


def aggregate_ids(ddb: Any, table: str) -> list[str]:
    ids: list[str] = []
    kwargs: dict[str, Any] = {"TableName": table, "ProjectionExpression": "#p",
                              "FilterExpression": "#v = :one", "ExpressionAttributeNames": {"#p": k.PARTITION_KEY, "#v": k.SORT_KEY},
                              "ExpressionAttributeValues": {":one": {"N": "1"}}}
    while True:
        page = ddb.scan(**kwargs)
        ids.extend(item[k.PARTITION_KEY]["S"] for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return sorted(ids)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def from_archive(s3: Any, bucket: str, tenant: str) -> dict[str, list[EventEnvelope]]:
    events: dict[str, dict[int, EventEnvelope]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{k.ARCHIVE_PREFIX}{tenant}/"):
        for obj in page.get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            for line in body.splitlines():
                if line.strip():
                    envelope = EventEnvelope.from_json(line)
                    events.setdefault(envelope.aggregate_id, {})[envelope.version] = envelope
    return {aid: [by_version[v] for v in sorted(by_version)] for aid, by_version in sorted(events.items())}


@dataclass(frozen=True)
class ReplayResult:
    aggregates: int
    events: int
    accounts_table: str
    ledger_table: str
    seconds: float
    cleared: int


def require_tables(ddb: Any, *tables: str) -> None:
    missing = []
    for table in tables:
        try:
            ddb.describe_table(TableName=table)
        except ddb.exceptions.ResourceNotFoundException:
            missing.append(table)
    if missing:
        raise ReplayTargetMissingError(missing)


def clear_table(ddb: Any, table: str) -> int:
    """Delete every item (keys only are read); returns how many were deleted."""
    key_names = [k["AttributeName"] for k in ddb.describe_table(TableName=table)["Table"]["KeySchema"]]
    names = {f"#k{i}": n for i, n in enumerate(key_names)}
    deleted = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(names),
                                                   ExpressionAttributeNames=names):
        items = page.get("Items", [])
        for start in range(0, len(items), 25):
            requests = [{"DeleteRequest": {"Key": item}} for item in items[start:start + 25]]
            while requests:
                left = ddb.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
                requests = left.get(table, [])
        deleted += len(items)
    return deleted


def rebuild(clients: Clients, names: PipelineNames, *, source: str = "events", clear: bool = True,
            progress: TextIO | None = sys.stderr) -> ReplayResult:
    """Project every event into `names.accounts_table` / `names.ledger_table`, then verify.

    `clear=True`: a fresh build (the standby slot). `clear=False`: a catch-up pass over tables that
    already hold most of the history (the version guard makes it idempotent)."""
    accounts, ledger = names.accounts_table, names.ledger_table
    require_tables(clients.dynamodb, accounts, ledger)
    cleared = clear_table(clients.dynamodb, accounts) + clear_table(clients.dynamodb, ledger) if clear else 0
    runtime = build_runtime(tenant_id=names.tenant, events_table=names.events_table, accounts_table=accounts,
                            ledger_table=ledger, client=clients.dynamodb)
    ids = aggregate_ids(clients.dynamodb, names.events_table)
    started = time.perf_counter()
    archived = from_archive(clients.s3, names.bucket, names.tenant) if source == "archive" else None
    order = list(archived) if archived is not None else ids

    def project(chunk: list[str]) -> BatchOutcome:
        if archived is not None:
            return runtime.project([e for aid in chunk for e in archived[aid]])
        try:
            return runtime.catch_up(chunk)
        except Exception as exc:  # noqa: BLE001 - their rows could not be loaded: the chunk failed, as in project()
            return BatchOutcome(failed=dict.fromkeys(chunk, exc))

    bar = Progress(len(order), f"replay {names.tenant}", progress) if progress else None
    stats, failed = ProjectionStats(), {}
    for start in range(0, len(order), CHUNK):
        chunk = order[start:start + CHUNK]
        outcome = project(chunk)
        stats.add(outcome.stats)
        failed.update(outcome.failed)
        if bar:
            bar.advance(len(chunk))
    seconds = time.perf_counter() - started
    if failed:
        raise ReplayFailedError(failed)
    verify(runtime.read_model, runtime.store, ids)
    return ReplayResult(len(ids), stats.events_applied, accounts, ledger, seconds, cleared)


def verify(target: DynamoDBReadModel, store: DynamoDBEventStore, ids: list[str]) -> None:
    """Each aggregate of `ids` (the snapshot taken before the build) must equal the fold of the
    event store up to the version its built row reflects. Live traffic keeps appending while we
    build and verify: events past that version, and aggregates opened after the snapshot, are the
    catch-up pass's business, not a mismatch."""
    known = set(ids)
    actual_rows = {aid: row for aid, row in target.scan_rows().items() if aid in known}
    actual_entries: dict[str, dict[tuple[str, int], Entry]] = {}
    for key, entry in target.scan_entries(rk.LEDGER_PARTITION_KEY).items():
        if key[0] in known:
            actual_entries.setdefault(key[0], {})[key] = entry
    mismatched: set[str] = set()
    for aggregate_id in ids:
        row = actual_rows.get(aggregate_id)
        built = ACCOUNTS.version_of(row)
        expected_row, expected_entries = _fold_to(store, aggregate_id, built)
        # No row built: the aggregate had events at snapshot time, so there must be one.
        if row is None or expected_row != row:
            mismatched.add(aggregate_id)
            continue
        entries = {key: entry for key, entry in actual_entries.get(aggregate_id, {}).items() if key[1] <= built}
        if entries != expected_entries:
            mismatched.add(aggregate_id)
    if mismatched:
        raise ReplayVerificationError(sorted(mismatched))


def _fold_to(store: DynamoDBEventStore, aggregate_id: str, version: int) -> tuple[Row | None, dict[tuple[str, int], Entry]]:
    """The projection folded over the aggregate's events 1..version (none when version is 0)."""
    if version <= 0:
        return None, {}
    row, added = ACCOUNTS.fold(None, (s.envelope for s in store.read(aggregate_id, to_version=version)))
    return row, {(aggregate_id, entry[ACCOUNTS.version_field]): entry for entry in added}
