"""Lambda handler init, measured as Python reports it: `python -X importtime -c "import <module>"`,
a fresh interpreter per sample, median of 5, beside `import boto3` alone (the yardstick) in the
same run. DESIGN §7: each handler's import costs at most 2x boto3's.

    python -m bench.coldstart [--runs 5] [--python PATH]

By default the interpreter is `.venv-lambda/bin/python` (Python 3.13 with exactly what Lambda loads:
the Powertools layer and the runtime's boto3, `make install` + `make test` create it), else this
one. A sample is the sum of every module's self time in that process (interpreter start included,
the same for every row). Rounds interleave the modules, so a busy machine slows all rows alike.
Writes bench/results/coldstart.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import statistics
import subprocess
import sys
from pathlib import Path

from tenantry.components.naming import HANDLERS, KEY_RENEWAL_HANDLER

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "coldstart.json"
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"
YARDSTICK = "boto3"
TARGET_RATIO = 2.0


def handler_modules() -> list[str]:
    """Every module a declared function's handler lives in (one per entry point, sorted); the key
    renewal's too, which only tenants with an API key declare."""
    return sorted({entry.rsplit(".", 1)[0] for entry in (*HANDLERS.values(), KEY_RENEWAL_HANDLER)})


def import_ms(python: str, module: str) -> float:
    """One sample: the total import time of `import <module>` in a fresh interpreter, in ms."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": ""}
    result = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    total_us = 0
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us = line.split(":", 1)[1].split("|", 1)[0].strip()
            if self_us.isdigit():
                total_us += int(self_us)
    return total_us / 1000


def measure(python: str, modules: list[str], runs: int) -> dict[str, list[float]]:
    import_ms(python, YARDSTICK)            # warm: bytecode caches written, files in the page cache
    for module in modules:
        import_ms(python, module)
    samples: dict[str, list[float]] = {m: [] for m in [YARDSTICK, *modules]}
    for _ in range(runs):
        for module in samples:
            samples[module].append(import_ms(python, module))
    return samples


def report(python: str, samples: dict[str, list[float]]) -> dict:
    yardstick = statistics.median(samples[YARDSTICK])
    version = subprocess.run([python, "-c", "import sys, boto3; print(sys.version.split()[0], boto3.__version__)"],
                             capture_output=True, text=True, check=True).stdout.split()
    rows = [{"module": m, "median_ms": round(statistics.median(s), 1),
             "ratio_to_boto3": round(statistics.median(s) / yardstick, 2), "samples_ms": [round(x, 1) for x in s]}
            for m, s in samples.items()]
    return {"python": version[0], "boto3": version[1], "interpreter": python, "machine": host.machine(),
            "runs": len(samples[YARDSTICK]), "yardstick": YARDSTICK, "target_ratio": TARGET_RATIO, "rows": rows}


def print_table(result: dict) -> None:
    print(f"handler init, -X importtime, median of {result['runs']} (Python {result['python']}, "
          f"boto3 {result['boto3']})")
    print(f"{'module':34} {'median ms':>10} {'x boto3':>8}")
    for row in result["rows"]:
        mark = "" if row["ratio_to_boto3"] <= result["target_ratio"] else "  > target"
        print(f"{row['module']:34} {row['median_ms']:>10.1f} {row['ratio_to_boto3']:>8.2f}{mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=str(LAMBDA_PYTHON) if LAMBDA_PYTHON.exists() else sys.executable)
    args = parser.parse_args(argv)
    result = report(args.python, measure(args.python, handler_modules(), args.runs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if all(r["ratio_to_boto3"] <= TARGET_RATIO for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
