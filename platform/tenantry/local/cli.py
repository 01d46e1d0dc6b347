"""`tenantry dev`: run every tenant's platform locally (registered by `tenantry.cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tenantry.local.activity import FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dev", help="run the platform locally on an embedded AWS emulator until Ctrl-C",
        description="Provision every tenant (or those named with --tenant) from what the Pulumi "
                    "program declares, on an embedded AWS emulator, and serve each tenant's "
                    "GraphQL API at http://HOST:PORT/<tenant>/graphql (https:// with --tls). Each "
                    "tenant's event log is kept in .tenantry/state/ and restored at the next start "
                    "(read models rebuilt from it); --fresh starts empty.")
    parser.add_argument("--tenant", action="append", default=[], metavar="NAME",
                        help="tenant to run (repeatable; default: every tenant in tenants/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="listen on a non-loopback --host even though the emulator's IAM "
                             "credentials are public (anyone reaching the port can sign IAM calls)")
    parser.add_argument("--port", type=int, default=4000, help="port to listen on (default 4000)")
    parser.add_argument("--dev-json", type=Path, default=None, metavar="PATH",
                        help="where to write the endpoints (default .tenantry/dev.json)")
    parser.add_argument("--tls", action="store_true",
                        help="serve https:// and wss:// with a local CA kept in .tenantry/tls/ "
                             "(AWS Amplify always dials wss://); dev.json names the CA file")
    parser.add_argument("--fresh", action="store_true",
                        help="discard the kept state (every tenant's event log) and start empty")
    parser.add_argument("--state-dir", type=Path, default=None, metavar="PATH",
                        help="where the event logs are kept (default .tenantry/state)")
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="text: one line per GraphQL operation and Lambda batch (default); "
                             "json: the same as JSON, and the Lambdas' raw Powertools lines")
    parser.add_argument("--no-reload", dest="reload", action="store_false",
                        help="do not watch resolvers/ and lambdas/ for edits (hot reload is on by default)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from tenantry.cli_common import project_root
    from tenantry.local.dev import DevOptions, run

    return run(DevOptions(root=project_root(args), tenants=tuple(args.tenant),
                          host=args.host, port=args.port, dev_json=args.dev_json,
                          allow_remote=args.allow_remote, tls=args.tls, log_format=args.log_format,
                          reload=args.reload, fresh=args.fresh, state_dir=args.state_dir))
