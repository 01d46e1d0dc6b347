"""Pulumi entry point: one stack per tenant, the stack name is the tenant name.

This is the only place that reads Pulumi config. The tenant file is validated before anything is
declared, so a bad file fails `pulumi preview` with the file, field and allowed values.
"""

from pathlib import Path

import pulumi

from tenantry.config import TenantConfigError, load_tenant_by_name
from tenantry.program import AwsAccess, AwsAccessError, define_stack

ROOT = Path(__file__).resolve().parent

try:
    tenant = load_tenant_by_name(ROOT, pulumi.get_stack())
except TenantConfigError as exc:
    # RunError prints the message without a Python traceback.
    raise pulumi.RunError(str(exc)) from exc

for warning in tenant.warnings:
    pulumi.log.warn(f"tenants/{tenant.name}.yaml: {warning}")

aws_config = pulumi.Config("aws")
stack_region = aws_config.get("region")
if stack_region and stack_region != tenant.region:
    raise pulumi.RunError(
        f"Pulumi.{tenant.name}.yaml: aws:region is {stack_region!r} but tenants/{tenant.name}.yaml "
        f"says region {tenant.region!r}; the tenant file decides (allowed: {tenant.region!r} or unset)")

# The program's provider is explicit, and explicit providers ignore `aws:` stack config: pass on
# how to authenticate (`pulumi config set aws:profile ...`, `aws:assumeRoles`).
try:
    access = AwsAccess(profile=aws_config.get("profile"),
                       assume_roles=tuple(aws_config.get_object("assumeRoles") or ()))
except AwsAccessError as exc:
    raise pulumi.RunError(f"Pulumi.{tenant.name}.yaml: {exc}") from exc

define_stack(tenant, ROOT, access)
