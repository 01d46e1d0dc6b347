"""What `tenantry dev` prints while it runs: one line per GraphQL operation and per Lambda batch.

`text` (the default) is for a person at a terminal:

    10:21:07 acme    Mutation.deposit               14ms  ok
    10:21:07 acme    λ projector  3 records         22ms  ok
    10:21:08 acme    Mutation.withdraw               9ms  InsufficientFunds
    10:21:09 acme  ! λ publisher  2 records         31ms  1 failed
    10:21:12   reloaded resolvers/Query.account.js (acme, globex)

and, at start-up, one line per tenant and step (`startup`): declare, provision, restore, rebuild.

with warnings and errors (the Lambdas' own, the twin's) on one line each, marked `!`, and their
tracebacks below. `json` prints the same events as JSON objects and leaves the Lambdas' Powertools
lines exactly as Lambda would write them (one JSON object each).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import TextIO

LOGGER = "tenantry.dev.activity"
FORMATS = ("text", "json")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

log = logging.getLogger(LOGGER)


def graphql(tenant: str, fields: Sequence[str], started: float, outcome: str) -> None:
    """One operation: its root fields (`Type.field`), its duration, `ok` or its error types."""
    shown = fields[0] if len(fields) == 1 else f"{fields[0]} +{len(fields) - 1}" if fields else "-"
    _emit(logging.INFO if outcome == "ok" else logging.WARNING, "graphql", tenant, shown,
          started, outcome)


def lambda_batch(tenant: str, function: str, records: int, started: float, failures: int) -> None:
    """One invocation by an event source mapping; `function` shown without the tenant's prefix."""
    outcome = "ok" if not failures else f"{failures} failed"
    function = function.removeprefix(f"tenantry-{tenant}-")
    _emit(logging.INFO if not failures else logging.WARNING, "lambda", tenant,
          f"λ {function}  {records} record{'s' * (records != 1)}", started, outcome)


def reload(event: dict, warning: bool = False) -> None:
    """One hot-reload event (`tenantry.local.reload_events`): its message; in JSON the whole event."""
    log.log(logging.WARNING if warning else logging.INFO, "%s", event["message"],
            extra={"activity": {"kind": "reload", **event}})


def startup(tenant: str, step: str, started: float, detail: str, outcome: str = "ok", **fields: object) -> None:
    """One start-up step of a tenant (declare, provision, restore, rebuild): what it did and how
    long it took; `fields` (counts) go into the JSON form as they are."""
    _emit(logging.INFO if outcome == "ok" else logging.WARNING, "startup", tenant, f"{step}: {detail}",
          started, outcome, step=step, **fields)


def _emit(level: int, kind: str, tenant: str, what: str, started: float, outcome: str, **fields: object) -> None:
    ms = round((time.perf_counter() - started) * 1000)
    log.log(level, "%-7s %-30s %5dms  %s", tenant, what, ms, outcome,
            extra={"activity": {"kind": kind, "tenant": tenant, "what": what, "ms": ms, "outcome": outcome,
                                **fields}})


class TextFormatter(logging.Formatter):
    """`HH:MM:SS <line>`; warnings and errors marked `!`, with their extra fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        mark = "!" if record.levelno >= logging.WARNING else " "
        if hasattr(record, "activity"):
            return f"{stamp} {mark} {record.getMessage()}"
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items()
                          if k not in _STANDARD and k != "activity" and not k.startswith("_"))
        line = f"{stamp} {mark} {record.levelname} {record.name}: {record.getMessage()}"
        line += f"  [{extras}]" if extras else ""
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = getattr(record, "activity", None)
        document = dict(body) if body else {"message": record.getMessage()}
        document.update(level=record.levelname, logger=record.name,
                        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def configure(log_format: str, out: TextIO = sys.stdout) -> logging.Handler:
    """Route the twin's own loggers (`tenantry.*`) to `out` in the chosen format."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    root = logging.getLogger("tenantry")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    return handler


class _PowertoolsLines:
    """A stream for a Powertools handler: each JSON line it writes is re-logged as one line of
    the `tenantry.lambda.<service>` logger (Powertools keeps its own formatter, which it needs)."""

    _KEYS = ("level", "location", "message", "timestamp", "service", "sampling_rate", "xray_trace_id",
             "cold_start", "function_name", "function_memory_size", "function_arn", "function_request_id")

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self._relog(line)
        return len(text)

    def flush(self) -> None:
        pass

    def _relog(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            logging.getLogger("tenantry.lambda").warning("%s", line)
            return
        level = logging.getLevelName(str(entry.get("level", "INFO")).upper())
        extras = {k: v for k, v in entry.items() if k not in self._KEYS and k not in _STANDARD}
        logging.getLogger(f"tenantry.lambda.{entry.get('service', 'lambda')}").log(
            level if isinstance(level, int) else logging.WARNING, "%s", entry.get("message"), extra=extras)


def quiet_powertools() -> None:
    """In text mode: the Lambdas' Powertools loggers print only warnings and errors, one line each
    (through the `tenantry` handler), instead of an INFO JSON object per call."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger) or not getattr(logger, "init", False):
            continue    # "init": Powertools marks the loggers it configured
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(_PowertoolsLines())     # type: ignore[arg-type]
        logger.setLevel(logging.WARNING)


def unconfigure(handler: logging.Handler) -> None:
    logging.getLogger("tenantry").removeHandler(handler)
