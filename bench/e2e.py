"""Local end-to-end figures (DESIGN section 7) on `tenantry dev` started as a subprocess.

    python -m bench.e2e [--quick] [--port N]          time to ready; at 1, 10 and 20 clients with
                                                      10 subscribers: commands/s and mutation ->
                                                      subscription latency (p50, p95, max)
    python -m bench.e2e --soak [--commands N]         resident memory over N commands (default
                                                      5,000): at start, at the end, after idling

Writes bench/results/e2e.json (or e2e-soak.json). Latency runs from just before a deposit is sent
to the arrival of the `onAccountUpdated` update carrying its version (write path, DynamoDB Streams
-> publisher -> Kinesis -> projector -> publishAccountUpdate -> WebSocket). Timings move from run
to run on a shared machine; compare them within one run. Memory is the server's VmRSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from tests.e2e import documents as doc
from tests.e2e.load import Client, Subscriber, open_accounts
from tests.e2e.support import DevServer, TenantEndpoint, free_port, start_dev, stop_dev

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P95_MS = {1: 500, 20: 250}          # DESIGN section 7 (20 clients: with 10 subscribers)
TARGET_KB_PER_COMMAND = 10
SUBSCRIBERS = 10
CLIENT_LEVELS = (1, 10, 20)
PACED_INTERVAL_S = 1.0           # a person at a frontend sends far less; 20 of them: 20 commands/s


def rss_kb(server: DevServer) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS for the dev server")


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    if not ordered:
        return {"samples": 0}
    return {"samples": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)], 1),
            "max_ms": round(ordered[-1], 1)}


async def deposit_loop(client: Client, account_id: str, count: int, sent: list[tuple[float, int]],
                       interval_s: float = 0.0) -> int:
    """`count` deposits one after the other, one every `interval_s` at most (0: as fast as the
    answers come back); (send time, version) of each accepted one."""
    done = 0
    if interval_s:      # people do not press "deposit" in step: each starts at its own moment
        await asyncio.sleep(random.uniform(0, interval_s))
    for _ in range(count):
        started = time.perf_counter()
        if interval_s:
            await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - (sent[-1][0] if sent else 0))))
            started = time.perf_counter()
        status, body = await client.call(doc.DEPOSIT, {"input": {
            "accountId": account_id, "amount": 1, "commandId": uuid.uuid4().hex}})
        if status == 200 and not body.get("errors"):
            sent.append((started, body["data"]["deposit"]["version"]))
            done += 1
    return done


def latencies(sent: list[tuple[float, int]], received: list[tuple[float, int]]) -> list[float]:
    """For each accepted deposit, the first update carrying its version or a later one."""
    out = []
    for started, version in sent:
        arrival = next((at for at, seen in received if seen >= version and at >= started), None)
        if arrival is not None:
            out.append((arrival - started) * 1000)
    return out


async def level(endpoint: TenantEndpoint, clients: int, per_client: int, interval_s: float = 0.0) -> dict:
    """`clients` clients, each depositing on its own account (one deposit every `interval_s`, or
    as fast as answers come: 0); the first SUBSCRIBERS accounts are watched by one subscriber
    each. Latency is measured on the watched accounts."""
    accounts = await open_accounts(endpoint, max(clients, SUBSCRIBERS))
    subscribers = [Subscriber(endpoint, a) for a in accounts[:SUBSCRIBERS]]
    acks = [asyncio.Event() for _ in subscribers]
    tasks = [asyncio.create_task(s.run(ack)) for s, ack in zip(subscribers, acks)]
    await asyncio.gather(*(ack.wait() for ack in acks))
    sent = {a.id: [] for a in accounts}
    started = time.perf_counter()
    async with _clients(endpoint, clients) as pool:
        done = await asyncio.gather(*(deposit_loop(c, a.id, per_client, sent[a.id], interval_s)
                                      for c, a in zip(pool, accounts)))
    elapsed = time.perf_counter() - started
    for s in subscribers:
        if sent[s.account.id]:
            await s.until(sent[s.account.id][-1][1], 30)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    samples = [ms for s in subscribers for ms in latencies(sent[s.account.id], s.received_at)]
    return {"clients": clients, "subscribers": SUBSCRIBERS, "interval_s": interval_s, "commands": sum(done),
            "commands_per_s": round(sum(done) / elapsed, 1), "latency": percentiles(samples)}


@contextlib.asynccontextmanager
async def _clients(endpoint: TenantEndpoint, count: int) -> AsyncIterator[list[Client]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(Client(endpoint)) for _ in range(count)]


def run_levels(server: DevServer, quick: bool) -> dict:
    """Closed loop (each client sends its next deposit when the last is answered: the most the
    platform does, latency then is queueing) and paced (each client one deposit every
    PACED_INTERVAL_S: how quickly an update arrives when the platform is busy but keeps up)."""
    endpoint = server.tenants["acme"]
    asyncio.run(level(endpoint, 2, 3))         # warm-up: first requests and cold paths, not measured
    per_client = {1: 40, 10: 15, 20: 10} if quick else {1: 120, 10: 40, 20: 30}
    closed = {str(n): asyncio.run(level(endpoint, n, per_client[n])) for n in CLIENT_LEVELS}
    paced = {str(n): asyncio.run(level(endpoint, n, per_client[n], PACED_INTERVAL_S)) for n in CLIENT_LEVELS}
    return {"closed_loop": closed, "paced": paced}


async def soak_commands(endpoint: TenantEndpoint, commands: int, clients: int = 10) -> float:
    accounts = await open_accounts(endpoint, clients)
    started = time.perf_counter()
    async with _clients(endpoint, clients) as pool:
        await asyncio.gather(*(deposit_loop(c, a.id, commands // clients, [])
                               for c, a in zip(pool, accounts)))
    return time.perf_counter() - started


SOAK_STEP = 1000


def run_soak(server: DevServer, commands: int, idle_s: float) -> dict:
    """RSS after a warm-up, after every SOAK_STEP commands, and while idling afterwards."""
    endpoint = server.tenants["acme"]
    asyncio.run(soak_commands(endpoint, 200))          # warm-up: caches and pools fill first
    time.sleep(5)
    start = rss_kb(server)
    seconds, steps = 0.0, []
    for _ in range(max(1, commands // SOAK_STEP)):
        seconds += asyncio.run(soak_commands(endpoint, min(SOAK_STEP, commands)))
        steps.append(rss_kb(server))
    time.sleep(5)                                      # the pipeline catches up
    end = rss_kb(server)
    samples = []
    for _ in range(int(idle_s // 10)):
        time.sleep(10)
        samples.append(rss_kb(server))
    half = len(steps) // 2
    second_half = (steps[-1] - steps[half - 1]) / ((len(steps) - half) * SOAK_STEP) if half else None
    return {"commands": commands, "seconds": round(seconds, 1), "rss_start_kb": start, "rss_end_kb": end,
            "rss_every_1000_kb": steps, "rss_idle_kb": samples,
            "kb_per_command_second_half": round(second_half, 2) if second_half is not None else None, "kb_per_command": round((end - start) / commands, 2),
            "idle_growth_kb": samples[-1] - end if samples else None,
            "target_kb_per_command": TARGET_KB_PER_COMMAND}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e")
    parser.add_argument("--quick", action="store_true", help="fewer commands per level")
    parser.add_argument("--soak", action="store_true", help="resident memory over many commands instead")
    parser.add_argument("--commands", type=int, default=5000, help="commands of the soak (default 5000)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idling after the soak")
    parser.add_argument("--port", type=int, default=0, help="port for tenantry dev (default: a free one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        server = start_dev(Path(tmp), args.port or free_port())
        report: dict = {"tenants": sorted(server.tenants), "ready_seconds": round(time.perf_counter() - started, 2)}
        try:
            if args.soak:
                report["soak"] = run_soak(server, args.commands, args.idle)
            else:
                report["levels"] = run_levels(server, args.quick)
                report["target_p95_ms"] = TARGET_P95_MS
        finally:
            report["dev_exit_code"] = stop_dev(server)
    report["quick"] = args.quick
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("e2e-soak.json" if args.soak else "e2e.json")).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
