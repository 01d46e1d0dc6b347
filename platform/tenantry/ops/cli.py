"""`tenantry replay` and `tenantry redrive`.

Local mode (default): the emulator of a running `tenantry dev` (endpoint from `--endpoint-url`, or
`emulator_url` next to the tenants in `.tenantry/dev.json`), fake credentials. AWS mode
(`--aws`): the default boto3 credential chain and endpoints; the physical names are the ones the
Pulumi program declares (`tenantry-<tenant>-...`; override with flags from `pulumi stack output`),
except the archive bucket's, which Pulumi autonames: `--bucket` (or dev.json locally).

`replay` rebuilds into the standby slot of the tenant file, verifies, and switches the tenant file
to it; then, on AWS, prints the `pulumi up` / `--catch-up` steps, and locally asks the running
`tenantry dev` to re-apply the declaration and runs the catch-up pass itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tenantry.cli_common import project_root
from tenantry.components.naming import CONSUMERS

# Building the parser stays cheap (`tenantry validate` builds it too): boto3, the handlers and the
# ops modules are imported by the commands that use them.
if TYPE_CHECKING:
    from lambdas.handlers.appsync_publisher import AppSyncPublisher
    from tenantry.config import TenantConfig

    from .redrive import RedriveResult
    from .resources import Clients, PipelineNames


def _config(args: argparse.Namespace) -> TenantConfig:
    """The tenant file, read once per command."""
    from tenantry.config import TenantConfigError, load_tenant_by_name

    try:
        return load_tenant_by_name(project_root(args), args.tenant)
    except TenantConfigError as exc:
        raise SystemExit(f"error: {exc}") from exc


def _dev_json(args: argparse.Namespace) -> Path:
    return Path(args.dev_json) if args.dev_json else project_root(args) / ".tenantry" / "dev.json"


def _dev_info(args: argparse.Namespace) -> dict:
    """The running `tenantry dev`'s dev.json, read once per command ({} on AWS, or when unreadable)."""
    if args.aws:
        return {}
    try:
        return json.loads(_dev_json(args).read_text())
    except (OSError, ValueError):
        return {}


def _clients(args: argparse.Namespace, region: str, dev: dict) -> Clients:
    from tenantry.local.emulator import FAKE_CREDENTIALS

    from .resources import Clients

    if args.aws:
        return Clients.create(region=region)
    endpoint = args.endpoint_url or dev.get("emulator_url")
    if endpoint is None:
        raise SystemExit("error: no emulator endpoint: run `tenantry dev` or pass --endpoint-url")
    return Clients.create(endpoint_url=endpoint, region=region, **FAKE_CREDENTIALS)


def archive_bucket(args: argparse.Namespace, dev: dict, needed: bool) -> str:
    """The archive bucket's declared name: --bucket, else (locally) the running `tenantry dev`'s
    dev.json. Pulumi autonames it, so it cannot be derived from the tenant; "" when not `needed`."""
    bucket = args.bucket or dev.get("tenants", {}).get(args.tenant, {}).get("archive_bucket", "")
    if needed and not bucket:
        where = "pulumi stack output bucket_name" if args.aws else "a running `tenantry dev` (dev.json)"
        raise SystemExit(f"error: the archive bucket's name is unknown: pass --bucket ({where})")
    return bucket


def _names(args: argparse.Namespace, slot: str, bucket: str = "") -> PipelineNames:
    """Physical names as declared, with the read models of `slot`; flags override the rest."""
    import dataclasses

    from .resources import PipelineNames

    names = PipelineNames.for_tenant(args.tenant, bucket, slot)
    overrides = {f: getattr(args, f) for f in ("events_table", "stream") if getattr(args, f, None)}
    return dataclasses.replace(names, **overrides)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--aws", action="store_true", help="real AWS (default: the local emulator)")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--region", default=None, help="default: the tenant file's region")
    parser.add_argument("--dev-json", default=None, help="the running `tenantry dev`'s endpoints "
                        "(default: .tenantry/dev.json)")
    for flag in ("events-table", "stream"):
        parser.add_argument(f"--{flag}", default=None)
    parser.add_argument("--bucket", default=None, help="the archive bucket (autonamed: `pulumi stack output "
                        "bucket_name`; default locally: the running `tenantry dev`'s dev.json)")


def cmd_replay(args: argparse.Namespace) -> int:
    from tenantry.config import tenant_file

    from .replay import ReplayError, rebuild
    from .switch import SwitchError, apply_local, switch_tenant_file

    config = _config(args)
    slots, region = config.read_models, args.region or config.region
    try:
        if args.catch_up:
            result = rebuild(_clients(args, region, _dev_info(args)), _names(args, slots.active),
                             source="events", clear=False)
            print(f"caught up {result.events} events of {result.aggregates} aggregates into the active slot "
                  f"{slots.active} ({result.accounts_table}, {result.ledger_table}); verified")
            return 0
        if not slots.standby:
            print(f"error: tenants/{config.name}.yaml has no standby read-model slot to rebuild into: set "
                  "read_models.standby: true and `pulumi up` (or restart tenantry dev) first", file=sys.stderr)
            return 1
        target = slots.standby_slot
        dev = _dev_info(args)
        clients = _clients(args, region, dev)
        names = _names(args, target, archive_bucket(args, dev, needed=args.source == "archive"))
        result = rebuild(clients, names, source=args.source, clear=True)
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"replayed {result.events} events of {result.aggregates} aggregates into the standby slot {target} "
          f"({result.accounts_table}, {result.ledger_table}); verified")
    if args.no_switch:
        return 0
    switch_tenant_file(tenant_file(project_root(args), config.name), target)
    print(f"switched tenants/{config.name}.yaml: read_models.active: {target} (standby: {slots.active})")
    if args.aws:
        print("next steps:")
        print(f"  1. pulumi up -s {config.name}        # re-points the AppSync data sources and the projector")
        print(f"  2. tenantry replay --tenant {config.name} --catch-up --aws   # events that arrived meanwhile")
        print(f"  3. optional: read_models.standby: false, then pulumi up -s {config.name}   # drops the {slots.active} slot")
        return 0
    try:
        apply_local(_dev_json(args), config.name)
        caught = rebuild(clients, names, source="events", clear=False, progress=None)
    except (SwitchError, ReplayError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"tenantry dev now serves {target}; caught up {caught.events} events that arrived during the build")
    return 0


def _publisher(args: argparse.Namespace, region: str, dev: dict) -> AppSyncPublisher | None:
    """The projector's AppSync publisher for a redrive: the GraphQL URL from --graphql-url, or
    locally from the running `tenantry dev`'s dev.json. None (with a note) when unknown."""
    from botocore.credentials import Credentials

    from lambdas.handlers.appsync_publisher import AppSyncPublisher
    from tenantry.local.emulator import FAKE_CREDENTIALS

    url, credentials = args.graphql_url, None
    if not args.aws:
        credentials = Credentials(FAKE_CREDENTIALS["aws_access_key_id"], FAKE_CREDENTIALS["aws_secret_access_key"])
        url = url or dev.get("tenants", {}).get(args.tenant, {}).get("graphql_url")
    if not url:
        where = "--graphql-url (pulumi stack output graphql_url)" if args.aws else "a running `tenantry dev` (dev.json) or --graphql-url"
        print(f"note: no GraphQL URL ({where}): redriven updates are projected but not published to subscribers",
              file=sys.stderr)
        return None
    return AppSyncPublisher(url, region=region, credentials=credentials)


def cmd_redrive(args: argparse.Namespace) -> int:
    from .redrive import Redriver

    config, dev = _config(args), _dev_info(args)
    region = args.region or config.region
    names = _names(args, config.read_models.active, archive_bucket(args, dev, needed=args.function == "archiver"))
    publisher = _publisher(args, region, dev) if args.function == "projector" else None
    result = Redriver(_clients(args, region, dev), names, args.function, publisher).run(
        args.queue or names.failure_queue(args.function), wait=args.wait, progress=sys.stdout)
    print(redrive_summary(result))
    if result.done:
        return 0
    print(f"error: {redrive_remains(result)}", file=sys.stderr)
    return 1


def redrive_summary(result: RedriveResult) -> str:
    return (f"redrove {result.redriven}/{result.messages} messages ({result.events} events of {result.aggregates} "
            f"aggregates, {result.from_event_store} from the event store); still failing: {len(result.kept)}, "
            f"in flight (not visible): {result.in_flight}, not received: {result.not_received}")


def redrive_remains(result: RedriveResult) -> str:
    """What is left in the queue, and what to do about each kind."""
    parts = []
    if result.kept:
        parts.append(f"{len(result.kept)} still failing (visible again; see the lines above for why)")
    if result.in_flight:
        parts.append(f"{result.in_flight} in flight (received by another consumer and not visible until their "
                     "visibility timeout ends; run again later, or pass --wait SECONDS)")
    if result.not_received:
        parts.append(f"{result.not_received} not received in this run (run again)")
    return f"{result.queue} still holds messages: " + "; ".join(parts)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("replay", help="rebuild the read models into the standby slot, verify, switch")
    _common(p)
    p.add_argument("--source", choices=("events", "archive"), default="events")
    p.add_argument("--no-switch", action="store_true", help="build and verify only; leave the tenant file alone")
    p.add_argument("--catch-up", action="store_true",
                   help="replay into the ACTIVE slot without clearing it (after a switch), then verify")
    p.set_defaults(func=cmd_replay)
    r = subparsers.add_parser("redrive", help="reprocess the failed batches of an on-failure queue")
    _common(r)
    r.add_argument("--function", choices=CONSUMERS, default="projector")
    r.add_argument("--queue", default=None, help="queue name (default: tenantry-<tenant>-<function>-dlq)")
    r.add_argument("--graphql-url", default=None, help="projector: the tenant's GraphQL URL, so redriven "
                   "updates reach subscribers (default: dev.json locally; none on AWS)")
    r.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="also wait up to SECONDS for messages in flight (received elsewhere, not visible) "
                   "to become visible again, and redrive them (default: report them and exit 1)")
    r.set_defaults(func=cmd_redrive)
