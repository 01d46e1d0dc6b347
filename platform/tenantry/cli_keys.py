"""`tenantry keys check --tenant NAME`: does the deployed API key still have enough days left?

Reads the tenant's AppSync API (by its declared name) and its keys with boto3, and fails (exit 1)
when a key has fewer than `api_key_renew_days_before` days left: the scheduled renewal has stopped
working, or the key was never renewed. Exit 2: no such API deployed. For cron or CI, next to the
alarm on the renewal function's errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from .cli_common import project_root
from .components.naming import physical
from .config import TenantConfigError, load_tenant_by_name


@dataclass(frozen=True)
class KeyStatus:
    key_id: str
    expires: dt.datetime
    days_left: float

    def masked(self) -> str:
        return f"{self.key_id[:8]}..."     # AppSync's key id is the key itself


def key_statuses(keys: Iterable[dict], now: dt.datetime) -> list[KeyStatus]:
    """`list_api_keys` entries -> how long each has left (AppSync's `expires` is epoch seconds)."""
    out = []
    for key in keys:
        expires = dt.datetime.fromtimestamp(int(key["expires"]), dt.UTC)
        out.append(KeyStatus(key["id"], expires, (expires - now).total_seconds() / 86_400))
    return out


def find_api_id(appsync, name: str) -> str | None:
    for page in appsync.get_paginator("list_graphql_apis").paginate():
        for api in page["graphqlApis"]:
            if api["name"] == name:
                return api["apiId"]
    return None


def cmd_check(args: argparse.Namespace) -> int:
    import boto3

    try:
        config = load_tenant_by_name(project_root(args), args.tenant)
    except TenantConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    appsync = boto3.session.Session(region_name=args.region or config.region).client(
        "appsync", endpoint_url=args.endpoint_url)
    api_id = find_api_id(appsync, physical(config.name, "api"))
    if api_id is None:
        print(f"error: no AppSync API {physical(config.name, 'api')} in {appsync.meta.region_name}", file=sys.stderr)
        return 2
    keys = [k for page in appsync.get_paginator("list_api_keys").paginate(apiId=api_id) for k in page["apiKeys"]]
    threshold, low = config.api_key_renew_days_before, 0
    for status in key_statuses(keys, dt.datetime.now(dt.UTC)):
        ok = status.days_left >= threshold
        low += not ok
        print(f"{'ok' if ok else 'LOW'}: {config.name} key {status.masked()} expires "
              f"{status.expires:%Y-%m-%dT%H:%MZ} ({status.days_left:.1f} days left; "
              f"api_key_renew_days_before: {threshold})", file=sys.stdout if ok else sys.stderr)
    return 1 if low else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("keys", help="the tenant's deployed API keys")
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="fail when a deployed key has fewer days left than the tenant allows")
    check.add_argument("--tenant", required=True)
    check.add_argument("--region", default=None, help="default: the tenant file's region")
    check.add_argument("--endpoint-url", default=None, help="another AppSync endpoint (tests, emulators)")
    check.set_defaults(func=cmd_check)
