"""`tenantry replay` and `tenantry redrive`.

Local mode (default): the emulator of a running `tenantry dev` (endpoint from `--endpoint-url`, or
`emulator_url` next to the tenants in `.tenantry/dev.json`), fake credentials. AWS mode
(`--aws`): the default boto3 credential chain and endpoints; the physical names are the ones the
Pulumi program declares (`tenantry-<tenant>-...`; override with flags from `pulumi stack output`).
"""

from __future__ import annotations

import argparse
import json
import sys

from tenantry.cli_common import project_root
from tenantry.config import TenantConfigError, load_tenant_by_name

from .redrive import Redriver
from .replay import ReplayError, replay
from .resources import Clients, PipelineNames

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _region(args: argparse.Namespace) -> str:
    """The tenant's region (as `tenantry dev` and Pulumi use it) unless --region says otherwise."""
    if args.region:
        return args.region
    try:
        return load_tenant_by_name(project_root(args), args.tenant).region
    except TenantConfigError as exc:
        raise SystemExit(f"error: {exc}") from exc


def _clients(args: argparse.Namespace) -> Clients:
    if args.aws:
        return Clients.create(region=_region(args))
    endpoint = args.endpoint_url
    if endpoint is None:
        dev = project_root(args) / ".tenantry" / "dev.json"
        info = json.loads(dev.read_text()) if dev.exists() else {}
        endpoint = info.get("emulator_url")
    if endpoint is None:
        raise SystemExit("error: no emulator endpoint: run `tenantry dev` or pass --endpoint-url")
    return Clients.create(endpoint_url=endpoint, region=_region(args), **LOCAL_CREDENTIALS)


def _names(args: argparse.Namespace) -> PipelineNames:
    names = PipelineNames.for_tenant(args.tenant, args.account_id)
    overrides = {f: getattr(args, f) for f in ("events_table", "accounts_table", "ledger_table", "stream", "bucket")
                 if getattr(args, f, None)}
    return PipelineNames(**{**names.__dict__, **overrides})


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--aws", action="store_true", help="real AWS (default: the local emulator)")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--region", default=None, help="default: the tenant file's region")
    parser.add_argument("--account-id", default="123456789012", help="for the archive bucket name")
    for flag in ("events-table", "accounts-table", "ledger-table", "stream", "bucket"):
        parser.add_argument(f"--{flag}", default=None)


def cmd_replay(args: argparse.Namespace) -> int:
    try:
        result = replay(_clients(args), _names(args), source=args.source, build=args.build, switch=not args.no_switch)
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state = "switched to" if result.switched else "built (not switched)"
    print(f"replayed {result.events} events of {result.aggregates} aggregates; {state} "
          f"{result.accounts_table}, {result.ledger_table}")
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    names = _names(args)
    result = Redriver(_clients(args), names).run(args.queue or names.failure_queue(args.function))
    print(f"redrove {result.redriven}/{result.messages} messages ({result.events} events, "
          f"{result.from_event_store} from the event store); {len(result.kept)} left in the queue")
    return 0 if not result.kept else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("replay", help="rebuild the read models into fresh tables, verify, switch")
    _common(p)
    p.add_argument("--source", choices=("events", "archive"), default="events")
    p.add_argument("--build", default=None, help="suffix of the new tables (default: a timestamp)")
    p.add_argument("--no-switch", action="store_true")
    p.set_defaults(func=cmd_replay)
    r = subparsers.add_parser("redrive", help="reprocess the failed batches of an on-failure queue")
    _common(r)
    r.add_argument("--function", choices=("publisher", "projector", "archiver"), default="projector")
    r.add_argument("--queue", default=None, help="queue name (default: tenantry-<tenant>-<function>-dlq)")
    r.set_defaults(func=cmd_redrive)
