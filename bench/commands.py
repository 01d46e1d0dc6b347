"""Command benchmark: `python -m bench.commands [--quick]` (DESIGN section 7, issue 2).

Runs our kernel and its peers side by side, in one process, on moto: the same workload through
each design's driver, interleaved round by round so that machine load affects all designs alike.
Calls, bytes and capacity units are counted (see `bench.metering`); commands per second are only
ever compared as ratios within one run. Writes bench/results/commands.json and prints a table with
the targets. It reports; it never fails on a missed target.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .ids import DEFAULT, PROFILES, IdProfile
from .metering import Counts, OperationCounts

RESULTS = Path(__file__).resolve().parent / "results" / "commands.json"
REGION = "eu-west-1"


@dataclass(frozen=True)
class Workload:
    accounts: int = 100
    commands_per_account: int = 21          # open + 20 deposits/withdrawals
    history_lengths: tuple[int, ...] = (10, 100, 1000, 4000)
    wru_run_length: int = 1000              # our history build-up amortizes snapshot writes over this
    inmemory_accounts: int = 952            # x 21 commands, about 20,000
    probe_rounds: int = 5


FULL = Workload()
QUICK = Workload(accounts=15, history_lengths=(10, 100, 1000), inmemory_accounts=200, probe_rounds=3)


def progress(message: str) -> None:
    print(f"[bench.commands] {message}", file=sys.stderr, flush=True)


def account_id(driver: Any, name: str | int) -> str:
    """The account id `name` (an index or "history"/"probe") in the driver's id profile."""
    ids = getattr(driver, "ids", None) or DEFAULT.ids()
    return ids.account(name)


def command(driver: Any, key: str, round_: int) -> None:
    """Round 0 opens the account; then deposits and withdrawals alternate (never overdrawn)."""
    if round_ == 0:
        driver.open(key)
    elif round_ % 2:
        driver.deposit(key, 100 + round_)
    else:
        driver.withdraw(key, 50)


def per_command(counts: Counts, commands: int) -> dict[str, Any]:
    t: OperationCounts = counts.total
    n = max(commands, 1)
    return {
        "commands": commands,
        "calls_per_command": t.calls / n,
        "request_bytes_per_command": t.request_bytes / n,
        "response_bytes_per_command": t.response_bytes / n,
        "rru_per_command": t.rru / n,
        "rru_billed_per_command": t.rru_billed / n,
        "bytes_read_per_command": t.bytes_read / n,
        "wru_per_command": t.wru / n,
        "calls_by_operation": {op: c.calls / n for op, c in sorted(counts.by_operation.items())},
    }


# -- phases -------------------------------------------------------------------------------------
def run_workload(drivers: list, accounts: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Every design gets the same commands; designs alternate each round, timed separately (less
    the time the meter spends re-reading whole items, which no design would spend)."""
    elapsed = {d.name: 0.0 for d in drivers}
    before = {d.name: d.meter.snapshot() for d in drivers}
    keys = {d.name: [account_id(d, i) for i in range(accounts)] for d in drivers}
    for round_ in range(rounds):
        for driver in drivers:
            started, sizing = time.perf_counter(), driver.meter.sizing_seconds
            for key in keys[driver.name]:
                command(driver, key, round_)
            elapsed[driver.name] += time.perf_counter() - started - (driver.meter.sizing_seconds - sizing)
        progress(f"workload round {round_ + 1}/{rounds}: " + ", ".join(f"{n} {s:.1f}s" for n, s in elapsed.items()))
    out = {}
    for driver in drivers:
        commands = accounts * rounds
        out[driver.name] = per_command(driver.meter.snapshot() - before[driver.name], commands)
        out[driver.name]["cmd_per_s"] = commands / elapsed[driver.name] if elapsed[driver.name] else None
    return out


def run_history(driver: Any, lengths: tuple[int, ...], wru_run_length: int) -> dict[str, Any]:
    """Grow one account to each length; meter ONE deposit at that length.

    Ours grows by single-event commands, so snapshots are taken as in production and the run up to
    `wru_run_length` amortizes their writes; the peers grow in batches, which is only setup.
    """
    key, version = account_id(driver, "history"), 1
    driver.open(key)
    by_length: dict[str, Any] = {}
    long_run, long_run_commands, max_calls, max_rru = Counts(), 0, 0, 0.0
    by_commands = driver.grows_by_commands

    def metered_deposit() -> OperationCounts:
        nonlocal version, long_run_commands, max_calls, max_rru
        mark = driver.meter.snapshot()
        driver.deposit(key, 1)
        one = driver.meter.snapshot() - mark
        version += 1
        if version <= wru_run_length:
            long_run_commands += 1
            for op, c in one.by_operation.items():
                long_run.by_operation[op].add(c)
        total = one.total
        max_calls, max_rru = max(max_calls, total.calls), max(max_rru, total.rru)
        return total

    for length in lengths:
        if by_commands:
            while version < length:
                metered_deposit()
        else:
            driver.grow(key, length - version)
            version = length
        one = metered_deposit()
        by_length[str(length)] = {
            "calls": one.calls, "rru": one.rru, "rru_billed": one.rru_billed, "items_read": one.items_read,
            "bytes_read": one.bytes_read,
            "request_bytes": one.request_bytes, "response_bytes": one.response_bytes, "wru": one.wru,
        }
        progress(f"history {driver.name} at {length}: {one.calls} calls, {one.rru:g} RRU")
    out: dict[str, Any] = {"history": by_length}
    if by_commands:
        out["long_run"] = {
            "commands": long_run_commands,
            "wru_per_command": long_run.total.wru / max(long_run_commands, 1),
            "max_calls_per_command": max_calls,
            "max_rru_per_command": max_rru,
        }
    return out


def run_probe(driver: Any, rounds: int) -> dict[str, Any]:
    """Two writers decide on the same state; a lost update is an acknowledged deposit the balance lacks."""
    first, second = 1_000, 1
    key = account_id(driver, "probe")
    driver.open(key)
    lost = acknowledged = 0
    for _ in range(rounds):
        before = driver.balance(key)
        acked = driver.race(key, first, second)
        delta = driver.balance(key) - before
        counted = {first: delta // first >= 1, second: delta % first == second}
        acknowledged += len(acked)
        lost += sum(1 for amount in acked if not counted[amount])
    return {"lost_updates": lost, "probe_rounds": rounds, "probe_acknowledged": acknowledged}


# -- the run ------------------------------------------------------------------------------------
def run(workload: Workload) -> dict[str, Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():
        os.environ.setdefault(name, value)
    import boto3
    from moto import mock_aws

    from tenantry.ops.resources import create_event_table

    from .drivers import EventsourcingDriver, NaiveDriver, TenantryDriver

    rounds = workload.commands_per_account
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        kinesis = boto3.client("kinesis", region_name=REGION)
        create_event_table(dynamodb, "bench-events")
        ours = TenantryDriver.on_dynamodb(dynamodb, "bench-events")
        peer = EventsourcingDriver.on_dynamodb(boto3.client("dynamodb", region_name=REGION), "bench-eventsourcing")
        naive = NaiveDriver(boto3.client("dynamodb", region_name=REGION), kinesis, "bench-naive", "bench-naive")
        moto_drivers = [ours, peer, naive]

        progress(f"workload: {workload.accounts} accounts x {rounds} commands per design, on moto")
        results = run_workload(moto_drivers, workload.accounts, rounds)
        for driver in moto_drivers:
            results[driver.name].update(run_history(driver, workload.history_lengths, workload.wru_run_length))
            results[driver.name].update(run_probe(driver, workload.probe_rounds))
            progress(f"lost-update probe {driver.name}: {results[driver.name]['lost_updates']} lost")
        profiles = {p.name: run_profile(p, dynamodb, workload) for p in PROFILES if p is not DEFAULT}

    progress(f"in memory: {workload.inmemory_accounts} accounts x {rounds} commands")
    inmemory = run_workload([TenantryDriver.in_memory(), EventsourcingDriver.on_popo()],
                            workload.inmemory_accounts, rounds)
    designs = _designs(results, inmemory)
    profiles[DEFAULT.name] = _profile_figures(DEFAULT, designs["tenantry"])
    return {"workload": asdict(workload), "designs": designs,
            "id_profiles": {p.name: profiles[p.name] for p in PROFILES}}


def run_profile(profile: IdProfile, dynamodb: Any, workload: Workload) -> dict[str, Any]:
    """Ours alone at another id profile: the workload and the history, counted (not timed)."""
    from tenantry.ops.resources import create_event_table

    from .drivers import TenantryDriver

    table = f"bench-events-{profile.name}"
    create_event_table(dynamodb, table)
    driver = TenantryDriver.on_dynamodb(_client(), table, profile, name=f"tenantry_{profile.name}")
    progress(f"ids {profile.name}: workload and history, tenantry only")
    out = run_workload([driver], workload.accounts, workload.commands_per_account)[driver.name]
    out.update(run_history(driver, workload.history_lengths, workload.wru_run_length))
    return _profile_figures(profile, out)


def _client() -> Any:
    import boto3

    return boto3.client("dynamodb", region_name=REGION)


def _profile_figures(profile: IdProfile, r: dict[str, Any]) -> dict[str, Any]:
    history = r["history"]
    ids = profile.ids()
    return {
        "tenant": profile.tenant,
        "account_id_length": len(ids.account("history")),
        "command_id_length": len(ids.command()),
        "calls_per_command": r["calls_per_command"],
        "calls_at_history_length": {n: h["calls"] for n, h in history.items()},
        "rru_at_history_length": {n: h["rru"] for n, h in history.items()},
        "bytes_read_at_history_length": {n: h["bytes_read"] for n, h in history.items()},
        "rru_per_command": r["rru_per_command"],
        "wru_per_command": r.get("long_run", {}).get("wru_per_command", r["wru_per_command"]),
        "max_calls_per_command": r.get("long_run", {}).get("max_calls_per_command"),
        "max_rru_per_command": r.get("long_run", {}).get("max_rru_per_command"),
    }


def _designs(moto: dict[str, dict], inmemory: dict[str, dict]) -> dict[str, dict]:
    designs: dict[str, dict] = {}
    for name, r in moto.items():
        history = r["history"]
        d = {
            "calls_per_command": r["calls_per_command"],
            "calls_at_history_length": {n: h["calls"] for n, h in history.items()},
            "request_bytes_per_command": r["request_bytes_per_command"],
            "response_bytes_per_command": r["response_bytes_per_command"],
            "rru_per_command": r["rru_per_command"],
            "rru_per_command_at_1000": history.get("1000", {}).get("rru"),
            "rru_billed_per_command_at_1000": history.get("1000", {}).get("rru_billed"),
            "rru_at_history_length": {n: h["rru"] for n, h in history.items()},
            # Peers take no snapshots: their write cost per command does not depend on the run length.
            "wru_per_command": r.get("long_run", {}).get("wru_per_command", r["wru_per_command"]),
            "wru_per_command_workload": r["wru_per_command"],
            "lost_updates": r["lost_updates"],
            "moto_cmd_per_s": r["cmd_per_s"],
            "calls_by_operation": r["calls_by_operation"],
            "history": history,
            "probe": {k: r[k] for k in ("probe_rounds", "probe_acknowledged")},
        }
        if "long_run" in r:
            d["long_run"] = r["long_run"]
        designs[name] = d
    designs["tenantry"]["inmemory_cmd_per_s"] = inmemory["tenantry_inmemory"]["cmd_per_s"]
    designs["eventsourcing_popo"] = {"inmemory_cmd_per_s": inmemory["eventsourcing_popo"]["cmd_per_s"]}
    return designs


def main(argv: list[str] | None = None, workload: Workload | None = None) -> int:
    """`workload` overrides --quick/full (the smoke test runs a tiny one through this same path)."""
    parser = argparse.ArgumentParser(prog="python -m bench.commands", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workload (under a minute), same keys")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    from .report import evaluate, render

    workload = workload or (QUICK if args.quick else FULL)
    started = time.perf_counter()
    results = run(workload)
    results["quick"] = args.quick
    results["targets"] = evaluate(results["designs"], results["id_profiles"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(render(results))
    progress(f"done in {time.perf_counter() - started:.0f}s; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
