"""`tenantry tenant new NAME`, `tenantry tenant list`, `tenantry validate`."""

from __future__ import annotations

import argparse
import re
import sys

import yaml

from .cli_common import project_root
from .config import (TENANT_NAME_PATTERN, TENANT_NAME_RULE, TenantConfig, TenantConfigError, tenant_file,
                     validate_all)

DEFAULT_REGION = "eu-west-1"
FIELDS_DOC = ("README.md", "Tenant file fields")   # where every tenant file field is documented


def scaffold(name: str, region: str) -> tuple[str, str]:
    """The tenant file and the stack file of a new tenant (validated before anything is written)."""
    config = TenantConfig(name=name, region=region)
    fields = config.model_dump(mode="json", exclude_none=True)
    doc, section = FIELDS_DOC
    tenant_yaml = (f"# Tenant {name}. Every field is documented in {doc}, section \"{section}\"; "
                   f"`tenantry validate` checks it.\n"
                   + yaml.safe_dump(fields, sort_keys=False))
    stack_yaml = (f"# Stack \"{name}\". The tenant is described in tenants/{name}.yaml (the only source of truth);\n"
                  f"# aws:region must match its region or __main__.py refuses to run.\n"
                  f"config:\n  aws:region: {region}\n")
    return tenant_yaml, stack_yaml


def cmd_new(args: argparse.Namespace) -> int:
    root = project_root(args)
    if not re.fullmatch(TENANT_NAME_PATTERN, args.name):
        print(f"error: invalid tenant name {args.name!r} (allowed: {TENANT_NAME_RULE})", file=sys.stderr)
        return 2
    target, stack = tenant_file(root, args.name), root / f"Pulumi.{args.name}.yaml"
    existing = [p for p in (target, stack) if p.exists()]
    if existing:
        print(f"error: tenant {args.name} already exists: {', '.join(map(str, existing))}", file=sys.stderr)
        return 1
    try:
        tenant_yaml, stack_yaml = scaffold(args.name, args.region)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(tenant_yaml, encoding="utf-8")
    stack.write_text(stack_yaml, encoding="utf-8")
    print(f"created {target.relative_to(root)} and {stack.relative_to(root)}")
    print(f"next: edit the tenant file, `tenantry validate`, then `pulumi stack init {args.name}`")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for name, result in validate_all(project_root(args)).items():
        if isinstance(result, TenantConfigError):
            print(f"{name}\tINVALID ({len(result.problems)} problem(s); run `tenantry validate`)")
        else:
            print(f"{name}\t{result.region}\t{result.tier}\t{result.stream_mode.value}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    root = project_root(args)
    results = validate_all(root)
    if not results:
        print(f"error: no tenant files in {root / 'tenants'}", file=sys.stderr)
        return 1
    failed = 0
    for name, result in results.items():
        if isinstance(result, TenantConfigError):
            failed += 1
            print(str(result), file=sys.stderr)
        elif not (root / f"Pulumi.{name}.yaml").is_file():
            failed += 1
            print(f"{root / f'Pulumi.{name}.yaml'}: missing stack file for tenant {name} "
                  f"(run `tenantry tenant new` or create it)", file=sys.stderr)
        else:
            for warning in result.warnings:
                print(f"warning: tenants/{name}.yaml: {warning}", file=sys.stderr)
            print(f"ok: tenants/{name}.yaml")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    tenant = subparsers.add_parser("tenant", help="manage tenant files")
    actions = tenant.add_subparsers(dest="tenant_command", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="scaffold tenants/NAME.yaml and Pulumi.NAME.yaml")
    new.add_argument("name")
    new.add_argument("--region", default=DEFAULT_REGION)
    new.set_defaults(func=cmd_new)
    actions.add_parser("list", help="list tenants").set_defaults(func=cmd_list)
    subparsers.add_parser("validate", help="validate every tenant file").set_defaults(func=cmd_validate)
