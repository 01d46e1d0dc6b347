"""Projector benchmark (DESIGN section 7): `python -m bench.projector [--quick]`.

Feeds N events through the publisher and the projector on moto (in process, batches of 100, as
the event source mappings would deliver them), then rebuilds the read models with `replay`.
Counted, not timed: read-model writes, publishes and Lambda invocations per event. Timed:
events/s through publisher + projector, and replay events/s. Checks that the read models equal
the fold of the event store. Writes bench/results/projector.json.

A read-model write is one conditional commit of one account per batch (its row, a conditional
PutItem, after its new ledger entries); item counts are reported alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "projector.json"


def run(events: int, accounts: int, batch_size: int, seed: int = 7) -> dict:
    from tenantry.ops.local_pipeline import QUIET_ENV, LocalPipeline, lambda_environment

    os.environ.update(QUIET_ENV)          # before Powertools and boto3 are imported
    from moto import mock_aws

    from lambdas.banking import readmodel_keys as rk
    from lambdas.banking.commands import Deposit, OpenAccount
    from lambdas.banking.projections import ACCOUNTS
    from lambdas.banking.service import BankingService
    from lambdas.eventstore.envelope import CommandContext
    from lambdas.eventstore.projection import BatchOutcome, ProjectionStats, fold_store
    from lambdas.handlers import projector
    from lambdas.handlers.appsync_publisher import RecordingPublisher
    from tenantry.ops.replay import aggregate_ids, rebuild
    from tenantry.ops.resources import Clients, PipelineNames, create_pipeline, create_read_model_tables

    rng, ctx = random.Random(seed), CommandContext(actor="bench")
    with mock_aws():
        names = PipelineNames.for_tenant("bench", bucket="bench-archive")
        clients = Clients.create(region="us-east-1")
        stream_arn = create_pipeline(clients, names)
        os.environ.update(lambda_environment(names))
        recorder, totals = RecordingPublisher(), ProjectionStats()
        # What the projector Lambda builds (its concurrency included), with AppSync recorded, not called.
        shipped = projector.build_runtime(tenant_id=names.tenant, events_table=names.events_table,
                                          accounts_table=names.accounts_table, ledger_table=names.ledger_table,
                                          client=clients.dynamodb, publisher=recorder)
        store, read_model = shipped.store, shipped.read_model
        bank = BankingService(store, names.tenant)
        ids = [f"acc{n:05d}" for n in range(accounts)]
        for aid in ids:
            bank.open_account(OpenAccount(account_id=aid, owner_id="o", currency="EUR", command_id=f"o{aid}"), ctx)
        for n in range(events - accounts):
            bank.deposit(Deposit(account_id=rng.choice(ids), amount=1 + n % 100, command_id=f"d{n}"), ctx)

        class Counting:
            def project(self, envelopes, *, poisoned=()) -> BatchOutcome:
                outcome = shipped.project(envelopes, poisoned=poisoned)
                totals.add(outcome.stats)
                return outcome

        counting = Counting()
        projector.runtime = lambda: counting                  # the handler runs unchanged around it
        pipeline = LocalPipeline(clients, names, stream_arn, batch_size=batch_size, archive=False)
        started = time.perf_counter()
        result = pipeline.drain()
        elapsed = time.perf_counter() - started

        all_ids = aggregate_ids(clients.dynamodb, names.events_table)
        rows, entries = fold_store(ACCOUNTS, store, all_ids)
        converged = (read_model.scan_rows() == rows
                     and read_model.scan_entries(rk.LEDGER_PARTITION_KEY) == entries
                     and not any(result.failures.values()))
        standby = names.with_slot("green")          # the slot `tenantry replay` rebuilds into
        create_read_model_tables(clients.dynamodb, standby.accounts_table, standby.ledger_table)
        rebuilt = rebuild(clients, standby, source="events", progress=sys.stderr)

    n = totals.events_in
    return {
        "events": events, "accounts": accounts, "batch_size": batch_size,
        "read_model_writes_per_event": round(totals.commits / n, 4),
        "read_model_items_per_event": round((totals.rows_written + totals.entries_written) / n, 4),
        "account_row_writes_per_event": round(totals.rows_written / n, 4),
        "ledger_item_writes_per_event": round(totals.entries_written / n, 4),
        "publishes_per_event": round(totals.publishes / n, 4),
        "invocations_per_event": round((result.invocations["publisher"] + result.invocations["projector"]) / n, 4),
        "events_per_s": round(n / elapsed, 1),
        "replay_events_per_s": round(rebuilt.events / rebuilt.seconds, 1),
        "converged": converged and rebuilt.events == n,
        "definition": "read-model write = one conditional commit per account per batch (conditional PutItem of "
                      "the account row after its new ledger entries); item counts reported separately",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.projector")
    parser.add_argument("--quick", action="store_true", help="1,000 events instead of 5,000")
    parser.add_argument("--accounts", type=int, default=None)
    args = parser.parse_args(argv)
    events = 1_000 if args.quick else 5_000
    figures = run(events, args.accounts or events // 20, batch_size=100)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:32} {value}")
    return 0 if figures["converged"] else 1


if __name__ == "__main__":
    sys.exit(main())
