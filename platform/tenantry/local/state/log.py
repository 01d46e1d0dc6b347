"""A tenant's event log on disk: what `tenantry dev` keeps, written as events are appended.

Format (version 1), one JSON document per line, UTF-8:

    {"format": "tenantry-event-log", "version": 1, "tenant": "acme"}      <- first line
    {"Item": {"pk": {"S": "acc-1"}, "v": {"N": "1"}, "k": {"S": "event"}, ...}}
    ...

Each item line is an event item exactly as the event store wrote it (DynamoDB JSON, the shape of a
DynamoDB export to S3), snapshot attributes included: a snapshot rides on its event item, so it
is kept with it and needs no rebuilding (a spilled one points at S3, which is not kept; the event
store ignores a snapshot it cannot fetch and folds the events instead).

Durability: the emulator calls `EventLogs.observe` inside the DynamoDB backend's lock, after a
write succeeded and before its answer leaves. The new items are written with one `write(2)` per
request (a transfer's two items together), so a command acknowledged to a client is in the
kernel's page cache: `kill -9` right after a success loses nothing, and the file's order is the
order the writes were applied. `fsync` runs on a timer (`FSYNC_INTERVAL_S`) and at close: a
power cut may lose the last second, a crashed process nothing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tenantry.local.emulator import table_name

FORMAT = "tenantry-event-log"
VERSION = 1
FSYNC_INTERVAL_S = 1.0
_COMPACT = (",", ":")

log = logging.getLogger("tenantry.local.state")

Item = dict[str, Any]


def header(tenant: str) -> bytes:
    return json.dumps({"format": FORMAT, "version": VERSION, "tenant": tenant}, separators=_COMPACT).encode() + b"\n"


def item_line(item: Item) -> bytes:
    return json.dumps({"Item": item}, separators=_COMPACT).encode() + b"\n"


def puts(action: str, request: dict, response: dict) -> Iterator[tuple[str, Item]]:
    """(table, item) of every item a successful write request put, in request order."""
    if action == "PutItem":
        yield table_name(request["TableName"]), request["Item"]
    elif action == "BatchWriteItem":
        unprocessed = response.get("UnprocessedItems") or {}
        for table, requests in request["RequestItems"].items():
            left = unprocessed.get(table) or []
            for entry in requests:
                if "PutRequest" in entry and entry not in left:
                    yield table_name(table), entry["PutRequest"]["Item"]
    elif action == "TransactWriteItems":
        for entry in request["TransactItems"]:
            if "Put" in entry:
                yield table_name(entry["Put"]["TableName"]), entry["Put"]["Item"]


def other_writes(action: str, request: dict) -> Iterator[str]:
    """Tables a request changed in a way an event log cannot hold (updates and deletes)."""
    if action in ("UpdateItem", "DeleteItem"):
        yield table_name(request["TableName"])
    elif action == "BatchWriteItem":
        yield from (table_name(t) for t, rs in request["RequestItems"].items() if any("DeleteRequest" in r for r in rs))
    elif action == "TransactWriteItems":
        for entry in request["TransactItems"]:
            for op in ("Update", "Delete"):
                if op in entry:
                    yield table_name(entry[op]["TableName"])


class EventLog:
    """Appends to one tenant's log file; `start_syncing` fsyncs it on a timer until `close`."""

    def __init__(self, path: Path, tenant: str) -> None:
        self.path, self.tenant = path, tenant
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._failed = False
        if os.fstat(self._fd).st_size == 0:
            self.append([header(tenant)])
        self._syncer = threading.Thread(target=self._sync_loop, name=f"event-log:{tenant}", daemon=True)

    def start_syncing(self) -> "EventLog":
        self._syncer.start()
        return self

    def append(self, lines: Iterable[bytes]) -> None:
        data = b"".join(lines)
        try:
            written = os.write(self._fd, data)
            while written < len(data):        # a regular file takes it all, short of a full disk
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            self._failed = True
            log.error("%s: event log %s could not be written (%s): the events just committed are "
                      "NOT kept for the next start", self.tenant, self.path, exc.strerror or exc)
            return
        self._dirty.set()

    def _sync_loop(self) -> None:
        while not self._closed.wait(FSYNC_INTERVAL_S):
            self._sync()

    def _sync(self) -> None:
        if self._dirty.is_set():
            self._dirty.clear()
            try:
                os.fsync(self._fd)
            except OSError as exc:
                log.error("%s: fsync of %s failed: %s", self.tenant, self.path, exc.strerror or exc)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        if self._syncer.is_alive():
            self._syncer.join(timeout=5)
        self._sync()
        os.close(self._fd)


class EventLogs:
    """The emulator's write observer: each kept table's new items go to its tenant's log."""

    def __init__(self) -> None:
        self._logs: dict[str, EventLog] = {}
        self._warned: set[str] = set()

    def keep(self, table: str, event_log: EventLog) -> None:
        self._logs[table] = event_log

    def close(self) -> None:
        for event_log in self._logs.values():
            event_log.close()
        self._logs.clear()

    def observe(self, action: str, request: bytes, response: bytes) -> None:
        if not self._logs:
            return
        try:
            body = json.loads(request)
            lines: dict[str, list[bytes]] = {}
            for table, item in puts(action, body, json.loads(response) if response else {}):
                if table in self._logs:
                    lines.setdefault(table, []).append(item_line(item))
            changed = [t for t in other_writes(action, body) if t in self._logs]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("event log: a successful %s could not be read (%r): not kept", action, exc)
            return
        for table, table_lines in lines.items():
            self._logs[table].append(table_lines)
        for table in changed:
            if table not in self._warned:
                self._warned.add(table)
                log.warning("%s: an %s changed or deleted items of the event table %s; the event log "
                            "keeps appended items only, so the next start will not see that change",
                            self._logs[table].tenant, action, table)
