"""`tenantry preview --tenant NAME [--json]`: the program under Pulumi's mock runtime, offline."""

from __future__ import annotations

import argparse
import sys

from .cli_common import project_root
from .config import TenantConfigError, load_tenant_by_name


def cmd_preview(args: argparse.Namespace) -> int:
    # Pulumi and the program load only for this command: building the CLI's parser stays cheap.
    from .mocks import declare_with_harness
    from .preview import render_json, render_text

    root = project_root(args)
    try:
        config = load_tenant_by_name(root, args.tenant)
    except TenantConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: tenants/{config.name}.yaml: {warning}", file=sys.stderr)
    harness = declare_with_harness(config, root)
    resources = harness.declared()
    if args.json:
        print(render_json(config.name, resources, harness.stack_outputs))
    else:
        print(render_text(config.name, resources))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    preview = subparsers.add_parser("preview", help="print what a tenant's stack declares (offline)")
    preview.add_argument("--tenant", required=True)
    preview.add_argument("--json", action="store_true", help="machine-readable inventory")
    preview.set_defaults(func=cmd_preview)
