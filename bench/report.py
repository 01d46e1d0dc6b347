"""Targets of DESIGN section 7 and the table `python -m bench.commands` prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DESIGNS = ("tenantry", "eventsourcing_dynamodb", "naive", "eventsourcing_popo")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def evaluate(designs: dict[str, dict], profiles: dict[str, dict] | None = None) -> list[dict[str, Any]]:
    """One row per target: what was measured for ours, and whether it meets the target. The
    capacity and round-trip targets are checked at every id profile (shortest, default, longest)."""
    ours = designs["tenantry"]
    worst_calls = max([ours["calls_per_command"], *ours["calls_at_history_length"].values(),
                       ours.get("long_run", {}).get("max_calls_per_command", 0)])
    moto_ratio = _ratio(ours["moto_cmd_per_s"], designs["eventsourcing_dynamodb"]["moto_cmd_per_s"])
    memory_ratio = _ratio(ours["inmemory_cmd_per_s"], designs["eventsourcing_popo"]["inmemory_cmd_per_s"])
    rru = ours["rru_per_command_at_1000"]
    rows = [
        ("AWS calls per command, any history length (worst)", worst_calls, "== 2", lambda v: v <= 2),
        ("read units per command at 1,000 events", rru, "<= 1", lambda v: v <= 1),
        ("write units per command, amortized", ours["wru_per_command"], "<= 1.1", lambda v: v <= 1.1),
        ("lost updates, two writers", ours["lost_updates"], "== 0", lambda v: v == 0),
        ("moto cmd/s vs eventsourcing_dynamodb", moto_ratio, ">= 1.5x", lambda v: v >= 1.5),
        ("in-memory cmd/s vs eventsourcing POPO", memory_ratio, ">= 2x", lambda v: v >= 2),
    ]
    for name, p in (profiles or {}).items():
        worst = max([p["calls_per_command"], *p["calls_at_history_length"].values(), p["max_calls_per_command"] or 0])
        rows += [
            (f"AWS calls per command, worst ({name} ids)", worst, "== 2", lambda v: v <= 2),
            (f"read units per command at 1,000 events ({name} ids)", p["rru_at_history_length"].get("1000"),
             "<= 1", lambda v: v <= 1),
            (f"write units per command, amortized ({name} ids)", p["wru_per_command"], "<= 1.1", lambda v: v <= 1.1),
        ]
    return [_row(name, value, target, check) for name, value, target, check in rows]


def _row(name: str, value: Any, target: str, check: Callable[[Any], bool]) -> dict[str, Any]:
    status = "n/a" if value is None else ("PASS" if check(value) else "FAIL")
    return {"figure": name, "measured": value, "target": target, "status": status}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render(results: dict[str, Any]) -> str:
    designs = results["designs"]
    lengths = list(designs["tenantry"]["calls_at_history_length"])
    rows: list[tuple[str, Callable[[dict], Any]]] = [
        ("calls / command (workload)", lambda d: d.get("calls_per_command")),
        *[(f"calls / command at {n} events", lambda d, n=n: d.get("calls_at_history_length", {}).get(n))
          for n in lengths],
        ("request bytes / command", lambda d: d.get("request_bytes_per_command")),
        ("response bytes / command", lambda d: d.get("response_bytes_per_command")),
        *[(f"RRU (strong) at {n} events", lambda d, n=n: d.get("rru_at_history_length", {}).get(n))
          for n in lengths],
        ("RRU as billed at 1,000 events", lambda d: d.get("rru_billed_per_command_at_1000")),
        ("WRU / command, amortized", lambda d: d.get("wru_per_command")),
        ("lost updates (two-writer probe)", lambda d: d.get("lost_updates")),
        ("cmd/s on moto", lambda d: d.get("moto_cmd_per_s")),
        ("cmd/s in memory", lambda d: d.get("inmemory_cmd_per_s")),
    ]
    width = max(len(r[0]) for r in rows) + 2
    header = "".ljust(width) + "".join(name.rjust(24) for name in DESIGNS)
    lines = [f"Commands benchmark ({'quick' if results.get('quick') else 'full'}), workload {results['workload']}",
             header, "-" * len(header)]
    for label, get in rows:
        lines.append(label.ljust(width) + "".join(_fmt(get(designs.get(n, {}))).rjust(24) for n in DESIGNS))
    lines += ["", *render_profiles(results.get("id_profiles", {}))]
    lines += ["", "Targets (DESIGN section 7), for tenantry:"]
    for t in results["targets"]:
        lines.append(f"  {t['status']:<5} {t['figure']:<60} measured {_fmt(t['measured']):>8}   target {t['target']}")
    return "\n".join(lines)


def render_profiles(profiles: dict[str, dict]) -> list[str]:
    """Ours at each id profile: what DynamoDB bills per command as the ids grow."""
    if not profiles:
        return []
    lengths = list(next(iter(profiles.values()))["rru_at_history_length"])
    rows: list[tuple[str, Callable[[dict], Any]]] = [
        ("tenant name / account id / command id length",
         lambda p: f"{len(p['tenant'])} / {p['account_id_length']} / {p['command_id_length']}"),
        ("calls / command (workload; worst)", lambda p: f"{_fmt(p['calls_per_command'])}; {_fmt(p['max_calls_per_command'])}"),
        *[(f"RRU (strong) at {n} events (bytes read)",
           lambda p, n=n: f"{_fmt(p['rru_at_history_length'][n])} ({_fmt(p['bytes_read_at_history_length'][n])})")
          for n in lengths],
        ("WRU / command, amortized", lambda p: p["wru_per_command"]),
    ]
    width = max(len(r[0]) for r in rows) + 2
    header = "tenantry by id length".ljust(width) + "".join(name.rjust(18) for name in profiles)
    lines = [header, "-" * len(header)]
    for label, get in rows:
        lines.append(label.ljust(width) + "".join(_fmt(get(p)).rjust(18) for p in profiles.values()))
    return lines
