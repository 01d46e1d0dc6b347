"""Reading a tenant's event log back: every good event, and an exact account of the rest.

A line is restored only if it is a whole line (a crash can cut the last one short), JSON, an item
line, and an event item the event store itself would publish (`lambdas.handlers.publisher.
publishable`: it decodes, its envelope validates, the domain knows its type, schema version and
data) of this tenant. Every other line is a `LogProblem` (file, line, reason).

History is never invented: an aggregate is restored from version 1 up to its first missing
version; versions after a gap (a damaged or missing line) are held back (`HeldBack`), because a
fold over them would be a state the aggregate never had. They stay in the damaged file, which is
moved aside untouched (`set_aside`); the log the run goes on appending to holds exactly what was
restored, so a later start cannot see new events behind old ones.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdas.eventstore import keys as k
from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.errors import CorruptEventError
from lambdas.handlers.publisher import publishable

from .log import FORMAT, VERSION, header, item_line

Item = dict[str, Any]


@dataclass(frozen=True)
class LogProblem:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path} line {self.line}: {self.reason}"


@dataclass(frozen=True)
class HeldBack:
    aggregate_id: str
    restored_to: int                 # the last version restored (0: none)
    versions: tuple[int, ...]        # present in the log after the gap, not restored

    def __str__(self) -> str:
        kept = f"restored v1..v{self.restored_to}" if self.restored_to else "nothing restored"
        return (f"{self.aggregate_id}: {kept}; v{self.versions[0]}..v{self.versions[-1]} "
                f"({len(self.versions)} events) held back: v{self.restored_to + 1} is missing or damaged, "
                "and history after a gap is never invented")


@dataclass
class Restored:
    path: Path
    items: list[Item] = field(default_factory=list)          # gap-free per aggregate, in log order
    envelopes: list[EventEnvelope] = field(default_factory=list)    # the items' events, same order
    problems: list[LogProblem] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.problems or self.held_back)

    @property
    def aggregates(self) -> int:
        return len({item[k.PARTITION_KEY]["S"] for item in self.items})


def read_log(path: Path, tenant: str) -> Restored:
    restored = Restored(path)
    if not path.exists():
        return restored
    good: dict[tuple[str, int], tuple[int, Item, EventEnvelope]] = {}      # key -> (line, item, event)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            reason = _check_line(raw, number, tenant, good)
            if reason == _UNREADABLE_FORMAT:
                restored.problems.append(LogProblem(path, number, _format_reason(raw)))
                good.clear()
                break
            if reason:
                restored.problems.append(LogProblem(path, number, reason))
    kept, restored.held_back = _without_gaps(good)
    restored.items = [item for item, _ in kept]
    restored.envelopes = [envelope for _, envelope in kept]
    return restored


_UNREADABLE_FORMAT = "format"


def _check_line(raw: bytes, number: int, tenant: str,
                good: dict[tuple[str, int], tuple[int, Item, EventEnvelope]]) -> str | None:
    """None when the line is a header or a good item (added to `good`), else why not."""
    if not raw.endswith(b"\n"):
        return "truncated (the line does not end): not restored"
    try:
        document = json.loads(raw)
    except ValueError as exc:
        return f"not JSON ({exc.msg} at column {exc.colno}): not restored"
    if isinstance(document, dict) and document.get("format") == FORMAT:
        if document.get("version") == VERSION and document.get("tenant") == tenant:
            return None
        return _UNREADABLE_FORMAT if number == 1 else "a header line of another log: not restored"
    item = document.get("Item") if isinstance(document, dict) else None
    if not isinstance(item, dict):
        return "not an item line (expected {\"Item\": {...}}): not restored"
    try:
        key = _key(item)
        envelope = publishable(item, tenant_id=tenant)
    except CorruptEventError as exc:
        return f"{exc.aggregate_id} v{exc.version}: {exc.reason}: not restored"
    if envelope.tenant_id != tenant:
        return f"{key[0]} v{key[1]}: an event of tenant {envelope.tenant_id!r}, not {tenant!r}: not restored"
    if key in good:
        first, kept, _ = good[key]
        return None if kept == item else f"{key[0]} v{key[1]}: differs from line {first}, which is kept"
    good[key] = (number, item, envelope)
    return None


def _format_reason(raw: bytes) -> str:
    return (f"not a tenantry event log this version can read (expected format {FORMAT!r} version "
            f"{VERSION} of this tenant as the first line, found {raw[:120]!r}): nothing restored from it")


def _key(item: Item) -> tuple[str, int]:
    pk, version = item.get(k.PARTITION_KEY, {}), item.get(k.SORT_KEY, {})
    aggregate_id = pk.get("S") if isinstance(pk, dict) else None
    number = version.get("N") if isinstance(version, dict) else None
    if not isinstance(aggregate_id, str) or not isinstance(number, str) or not number.isdigit() or int(number) < 1:
        raise CorruptEventError(str(aggregate_id or "?"), 0, f"key {k.PARTITION_KEY}/{k.SORT_KEY} is not a "
                                "string aggregate id and a positive version number")
    return aggregate_id, int(number)


def _without_gaps(good: dict[tuple[str, int], tuple[int, Item, EventEnvelope]]
                  ) -> tuple[list[tuple[Item, EventEnvelope]], list[HeldBack]]:
    versions: dict[str, list[int]] = {}
    for aggregate_id, version in good:
        versions.setdefault(aggregate_id, []).append(version)
    held: dict[str, HeldBack] = {}
    for aggregate_id, found in versions.items():
        found.sort()
        restored_to = 0
        while restored_to < len(found) and found[restored_to] == restored_to + 1:
            restored_to += 1
        if restored_to < len(found):
            held[aggregate_id] = HeldBack(aggregate_id, restored_to, tuple(found[restored_to:]))
    kept = [(item, envelope) for (aggregate_id, version), (_, item, envelope) in sorted(good.items(), key=lambda kv: kv[1][0])
            if aggregate_id not in held or version <= held[aggregate_id].restored_to]
    return kept, sorted(held.values(), key=lambda h: h.aggregate_id)


def set_aside(restored: Restored, tenant: str) -> Path:
    """Move the damaged log aside, untouched, with a note beside it, and write in its place a log
    that holds exactly the restored events, which this run appends to. The moved file's path."""
    path = restored.path
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    aside = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    path.replace(aside)
    lines = [f"{aside.name}: moved aside by tenantry dev at {stamp} UTC, unchanged. Not restored from it:"]
    lines += [f"- {problem}" for problem in restored.problems] + [f"- {held}" for held in restored.held_back]
    lines.append(f"{path.name} was written anew with the {len(restored.items)} events that were restored.")
    aside.with_suffix(".txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _rewrite(path, tenant, restored.items)
    return aside


def _rewrite(path: Path, tenant: str, items: list[Item]) -> None:
    """`path` holding the header and `items`, replaced atomically and synced."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        handle.write(header(tenant))
        handle.writelines(item_line(item) for item in items)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
