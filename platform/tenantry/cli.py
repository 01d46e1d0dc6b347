"""`tenantry` console script. Subcommands live in their own modules, each with `register(subparsers)`
setting `func(args) -> int`; add a module to SUBCOMMAND_MODULES to add a subcommand."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMAND_MODULES = [
    "tenantry.cli_tenant",
    "tenantry.cli_preview",
    "tenantry.local.cli",
    "tenantry.local.token",
    "tenantry.ops.cli",
    "tenantry.cli_keys",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantry", description="Event-sourced backends, one stack per tenant.")
    parser.add_argument("--root", default=None, help="project root (default: nearest directory with Pulumi.yaml)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
