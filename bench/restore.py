"""Time to `ready` of `tenantry dev --tenant acme` with N events restored from its kept event log.

    python -m bench.restore [--events 0 10000]

For each N: a log of N events made by the real domain (`tests.state_history`), a fresh state
directory, then `tenantry dev` as a subprocess; prints the wall time from start to `ready` and
the restore and rebuild steps as the server reports them (its `--log-format json` lines).
Writes bench/results/restore.json. Timings move from run to run on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tests.e2e.support import free_port, start_dev, stop_dev
from tests.state_history import history, write_log

RESULTS = Path(__file__).resolve().parent / "results"
TENANT = "acme"


def measure(events: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        if events:
            write_log(state / TENANT / "events.jsonl", TENANT, history(TENANT, events, accounts=max(events // 50, 2)))
        started = time.perf_counter()
        server = start_dev(Path(tmp), free_port(), "--tenant", TENANT, "--log-format", "json", state_dir=state)
        ready_s = time.perf_counter() - started
        stop_dev(server)
    steps = {}
    for line in server.output:
        if line.startswith("{") and '"startup"' in line:
            entry = json.loads(line)
            steps[entry["step"]] = {"ms": entry["ms"], **{k: entry[k] for k in ("events", "aggregates") if k in entry}}
    return {"events": events, "ready_s": round(ready_s, 2), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[0, 10_000])
    results = [measure(n) for n in parser.parse_args().events]
    for r in results:
        print(json.dumps(r))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "restore.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
