"""`tenantry token --tenant NAME --user USER`: a fresh token of a dev user of the running `tenantry dev`.

Reads the user's credentials, the pool and its client from dev.json and signs the user in at the
dev server's Cognito endpoint (the embedded emulator, `emulator_url`), so the token is one the
running server accepts: `curl -H "Authorization: $(tenantry token --tenant acme --user alice)"`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_NO_TOKEN = 1
TOKEN_KINDS = {"id": "IdToken", "access": "AccessToken", "refresh": "RefreshToken"}


class NoDevUserError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "token", help="print a fresh token of a dev user of the running `tenantry dev`",
        description="Sign a dev user (dev.users of the tenant file) in at the running tenantry dev's "
                    "Cognito endpoint and print the ID token (AppSync takes it raw in Authorization).")
    parser.add_argument("--tenant", required=True, metavar="NAME")
    parser.add_argument("--user", required=True, metavar="USER", help="dev user name (e.g. alice)")
    parser.add_argument("--kind", choices=sorted(TOKEN_KINDS), default="id",
                        help="which token to print (default: id)")
    parser.add_argument("--dev-json", type=Path, default=None, metavar="PATH",
                        help="the running server's dev.json (default .tenantry/dev.json)")
    parser.set_defaults(func=_run)


def token(dev_json: Path, tenant: str, user: str, kind: str = "id") -> str:
    from tenantry.local.devusers import sign_in
    from tenantry.local.emulator import FAKE_CREDENTIALS, _isolated_session

    try:
        document = json.loads(dev_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NoDevUserError(f"no running `tenantry dev` ({dev_json}: {exc})") from exc
    info = document.get("tenants", {}).get(tenant)
    if info is None:
        raise NoDevUserError(f"{dev_json} serves no tenant {tenant!r}")
    credentials = info.get("users", {}).get(user)
    if credentials is None:
        raise NoDevUserError(f"{tenant} has no dev user {user!r} (dev users: "
                             f"{', '.join(info.get('users', {})) or 'none, it has no user pool'})")
    idp = _isolated_session().client("cognito-idp", region_name=info["region"],
                                     endpoint_url=document["emulator_url"], **FAKE_CREDENTIALS)
    tokens = sign_in(idp, info["user_pool_id"], info["user_pool_client_id"],
                     credentials["username"], credentials["password"])
    return tokens[TOKEN_KINDS[kind]]


def _run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from tenantry.cli_common import project_root
    from tenantry.local.devstate import DEV_JSON
    from tenantry.local.devusers import DevUserError

    dev_json = args.dev_json or project_root(args) / DEV_JSON
    try:
        print(token(dev_json, args.tenant, args.user, args.kind))
    except (NoDevUserError, DevUserError) as exc:
        print(f"tenantry token: {exc}", file=sys.stderr)
        return EXIT_NO_TOKEN
    except (BotoCoreError, ClientError) as exc:
        print(f"tenantry token: the dev server's Cognito endpoint refused: {exc}", file=sys.stderr)
        return EXIT_NO_TOKEN
    return EXIT_OK
